"""Agent → customer: Chatwoot `message_created` relayed to WhatsApp, and send results.

Only outgoing/template messages that are not private and were not created by the bridge (its
source ids, or a message link) are relayed; that also covers a webhook arriving before the
bridge's own create call returned. An agent replying while the bot is active takes over.
"""

from __future__ import annotations

from bridge.flows import effects
from bridge.flows.contacts import apply_trigger, end_bot_phase
from bridge.flows.context import FlowContext
from bridge.ids import CwConversationId, CwMessageId, WaMessageId
from bridge.render import render_markdown
from bridge.schemas.chatwoot import CwMessageEvent, parse_chatwoot_webhook
from bridge.state.bot_sessions import record_sent
from bridge.state.records import ContactState, Direction, InboundEvent, MessageLink

_RELAYED_TYPES = {"outgoing", "template"}
_MEDIA_KIND = {"image": "image", "audio": "audio", "video": "video"}


async def handle_agent_reply(ctx: FlowContext, event: InboundEvent) -> None:
    parsed = parse_chatwoot_webhook(event.payload)
    if not isinstance(parsed, CwMessageEvent) or event.contact_id is None:
        return
    if parsed.message_type not in _RELAYED_TYPES or parsed.private:
        return
    if effects.is_bridge_source_id(parsed.source_id):
        return
    if await ctx.repository.find_link_by_cw(CwMessageId(parsed.id)) is not None:
        return
    contact = await ctx.repository.get_contact(event.contact_id)
    conversation_id = parsed.conversation.cw_conversation_id
    if contact is None or contact.cw_conversation_id != conversation_id:
        return
    if contact.state == ContactState.BOT_HANDLED:
        await apply_trigger(
            ctx,
            contact,
            "take_over",
            reason=f"agent replied in conversation {conversation_id}",
            cw_conversation_id=CwConversationId(conversation_id),
        )
        await end_bot_phase(ctx, contact)
    text = render_markdown(parsed.content or "").strip()
    link = {"cw_message_id": parsed.id, "cw_conversation_id": conversation_id}
    if not parsed.attachments:
        if text:
            await effects.send_whatsapp_text(ctx, contact, text, f"cw:{parsed.id}", link)
        return
    for index, attachment in enumerate(parsed.attachments):
        if not attachment.data_url:
            continue
        kind = _MEDIA_KIND.get(attachment.file_type or "", "document")
        await effects.send_whatsapp_media(
            ctx,
            contact,
            kind=kind,
            url=attachment.data_url,
            key=f"cw:{parsed.id}:{index}",
            caption=text if index == 0 and kind != "audio" else None,
            file_name=_file_name(attachment.data_url),
            link=link,
        )
    if text and _MEDIA_KIND.get(parsed.attachments[0].file_type or "") == "audio":
        await effects.send_whatsapp_text(ctx, contact, text, f"cw:{parsed.id}:text", link)


async def handle_whatsapp_sent(ctx: FlowContext, event: InboundEvent) -> None:
    """`evolution.send_*.done`: remember the id (echo suppression) and link the agent message."""
    wa_message_id = event.payload["result"].get("wa_message_id")
    if not wa_message_id:
        return
    now = ctx.clock.now_ms()
    await record_sent(ctx.repository.database, wa_message_id, event.contact_id, now)
    request = event.payload["request"]
    if request.get("cw_message_id") is not None:
        await ctx.repository.link_message(
            MessageLink(
                wa_message_id=WaMessageId(wa_message_id),
                cw_message_id=CwMessageId(int(request["cw_message_id"])),
                direction=Direction.OUTBOUND,
                contact_id=event.contact_id,
                cw_conversation_id=CwConversationId(int(request["cw_conversation_id"])),
                created_at_ms=now,
            )
        )


async def handle_whatsapp_send_failed(ctx: FlowContext, event: InboundEvent) -> None:
    """`evolution.send_*.failed`: the agent sees the reply marked failed, with the reason."""
    request = event.payload["request"]
    if request.get("cw_message_id") is None:
        return
    await ctx.enqueue(
        effects.UPDATE_MESSAGE_STATUS,
        f"{effects.UPDATE_MESSAGE_STATUS}:{request['cw_message_id']}:failed",
        {
            "conversation_id": request["cw_conversation_id"],
            "message_id": request["cw_message_id"],
            "status": "failed",
            "external_error": str(event.payload.get("error", ""))[:250],
        },
        event.contact_id,
    )


async def handle_chatwoot_created(ctx: FlowContext, event: InboundEvent) -> None:
    """`chatwoot.create_message.done`: link a relayed WhatsApp message to its Chatwoot twin."""
    request = event.payload["request"]
    cw_message_id = event.payload["result"].get("cw_message_id")
    if not request.get("wa_message_id") or cw_message_id is None:
        return
    await ctx.repository.link_message(
        MessageLink(
            wa_message_id=WaMessageId(request["wa_message_id"]),
            cw_message_id=CwMessageId(int(cw_message_id)),
            direction=Direction.INBOUND
            if request.get("message_type") == "incoming"
            else Direction.OUTBOUND,
            contact_id=event.contact_id,
            cw_conversation_id=CwConversationId(int(request["conversation_id"])),
            created_at_ms=ctx.clock.now_ms(),
        )
    )


def _file_name(url: str) -> str | None:
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name or None
