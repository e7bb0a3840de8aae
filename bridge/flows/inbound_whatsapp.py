"""Inbound WhatsApp (`messages.upsert`): transcript, then route by the contact's state.

- bot_handled: the message is the customer's next turn for Typebot (typebot_triage).
- triaged: kept in the transcript, which is posted to Chatwoot when the conversation opens.
- agent_handled: relayed into the Chatwoot conversation as an incoming message.
A `fromMe` message that the bridge did not send was typed on the business phone: a human took
over, so the bot pauses, and the message is recorded in Chatwoot if a conversation exists.
"""

from __future__ import annotations

from bridge.flows import effects
from bridge.flows.contacts import apply_trigger
from bridge.flows.context import FlowContext
from bridge.flows.typebot_triage import bot_turn, pause_bot
from bridge.ids import WaMessageId
from bridge.schemas.evolution import MessagesUpsertEvent, parse_evolution_webhook
from bridge.state.bot_sessions import was_sent_by_bridge
from bridge.state.records import Contact, ContactState, Direction, InboundEvent, TranscriptEntry
from bridge.whatsapp_text import WhatsAppMedia, WhatsAppText, extract_text, media_kind

# Evolution marks messages sent through its API as PENDING; phone-typed ones as SERVER_ACK.
_API_SEND_STATUS = "PENDING"


async def handle_whatsapp_message(ctx: FlowContext, event: InboundEvent) -> None:
    parsed = parse_evolution_webhook(event.payload)
    if not isinstance(parsed, MessagesUpsertEvent) or event.contact_id is None:
        return
    contact = await ctx.repository.get_contact(event.contact_id)
    if contact is None:
        return
    data = parsed.data
    text = extract_text(data.message)
    if text is None or not text.is_turn:
        return  # reactions, stickers, edits, receipts: nobody reacts to them
    media = media_kind(data.message)
    wa_message_id = data.key.id
    if data.key.from_me:
        if data.status == _API_SEND_STATUS or await _is_own_echo(ctx, wa_message_id):
            return
        await _handle_phone_message(ctx, contact, parsed, text, media)
        return
    entry = TranscriptEntry(
        contact_id=contact.id,
        direction=Direction.INBOUND,
        body=_display_text(text, media),
        kind=media.kind if media else text.kind,
        wa_message_id=WaMessageId(wa_message_id),
        wa_timestamp_ms=data.message_timestamp * 1000,
        created_at_ms=ctx.clock.now_ms(),
    )
    if contact.state == ContactState.AGENT_HANDLED and contact.cw_conversation_id is not None:
        await relay_to_chatwoot(ctx, contact, parsed, entry, media, "incoming")
        return
    entry = await ctx.repository.append_transcript(entry)
    if contact.state == ContactState.BOT_HANDLED:
        await bot_turn(ctx, contact, entry, text.reply_id)


async def relay_to_chatwoot(
    ctx: FlowContext,
    contact: Contact,
    parsed: MessagesUpsertEvent,
    entry: TranscriptEntry,
    media: WhatsAppMedia | None,
    message_type: str,
) -> None:
    assert contact.cw_conversation_id is not None
    wa_message_id = str(entry.wa_message_id)
    media_ref = None
    if media is not None:
        media_ref = {
            "instance": parsed.instance,
            "wa_message_id": wa_message_id,
            "mimetype": media.mimetype,
            "file_name": media.file_name,
            "is_voice_note": media.is_voice_note,
        }
    await effects.create_chatwoot_message(
        ctx,
        contact,
        conversation_id=int(contact.cw_conversation_id),
        content=media.caption or "" if media else entry.body,
        message_type="incoming" if message_type == "incoming" else "outgoing",
        source_id=f"{effects.WHATSAPP_SOURCE_PREFIX}{wa_message_id}",
        key=f"wa:{wa_message_id}",
        media=media_ref,
        wa_message_id=wa_message_id,
    )


async def _is_own_echo(ctx: FlowContext, wa_message_id: str) -> bool:
    if await was_sent_by_bridge(ctx.repository.database, wa_message_id):
        return True
    return await ctx.repository.find_link_by_wa(WaMessageId(wa_message_id)) is not None


async def _handle_phone_message(
    ctx: FlowContext,
    contact: Contact,
    parsed: MessagesUpsertEvent,
    text: WhatsAppText,
    media: WhatsAppMedia | None,
) -> None:
    entry = TranscriptEntry(
        contact_id=contact.id,
        direction=Direction.OUTBOUND,
        body=_display_text(text, media),
        kind=media.kind if media else text.kind,
        wa_message_id=WaMessageId(parsed.data.key.id),
        wa_timestamp_ms=parsed.data.message_timestamp * 1000,
        created_at_ms=ctx.clock.now_ms(),
    )
    if contact.state == ContactState.BOT_HANDLED:
        await pause_bot(ctx, contact)
        if contact.cw_conversation_id is not None:
            await apply_trigger(
                ctx,
                contact,
                "take_over",
                reason="a human wrote from the business phone",
                cw_conversation_id=contact.cw_conversation_id,
            )
    if contact.cw_conversation_id is not None and contact.state == ContactState.AGENT_HANDLED:
        await relay_to_chatwoot(ctx, contact, parsed, entry, media, "outgoing")
    else:
        await ctx.repository.append_transcript(entry)


def _display_text(text: WhatsAppText, media: WhatsAppMedia | None) -> str:
    if text.text:
        return text.text
    return f"[{media.kind}]" if media else f"[{text.kind}]"
