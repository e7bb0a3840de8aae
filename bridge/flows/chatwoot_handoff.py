"""Handoff (triaged → agent_handled): the conversation is open; post the transcript, hand off.

The transcript of the bot phase goes in order, customer lines as incoming and bot lines as
outgoing, each marked with a source id so its webhook is recognised as the bridge's own.
"""

from __future__ import annotations

from typing import Any

from bridge.flows import effects
from bridge.flows.contacts import apply_trigger, end_bot_phase
from bridge.flows.context import FlowContext
from bridge.ids import CwContactId, CwConversationId, CwInboxId
from bridge.state.bot_sessions import get_bot_session
from bridge.state.records import (
    Contact,
    ContactState,
    Direction,
    InboundEvent,
    TranscriptEntry,
)

HANDOFF_FAILED_TEXT = (
    "Sorry, we could not connect you to an agent just now. Please write again in a few minutes."
)


async def handle_conversation_ready(ctx: FlowContext, event: InboundEvent) -> None:
    """`chatwoot.ensure_conversation.done`."""
    if event.contact_id is None:
        return
    contact = await ctx.repository.get_contact(event.contact_id)
    if contact is None or contact.state != ContactState.TRIAGED:
        return
    result: dict[str, Any] = event.payload["result"]
    cw_conversation_id = CwConversationId(int(result["cw_conversation_id"]))
    contact.cw_contact_id = CwContactId(int(result["cw_contact_id"]))
    contact.cw_inbox_id = CwInboxId(int(result["cw_inbox_id"]))
    await _post_transcript(ctx, contact, cw_conversation_id)
    await apply_trigger(
        ctx,
        contact,
        "hand_off",
        reason=f"conversation {cw_conversation_id} open",
        cw_conversation_id=cw_conversation_id,
    )
    await end_bot_phase(ctx, contact)


async def handle_conversation_failed(ctx: FlowContext, event: InboundEvent) -> None:
    """`chatwoot.ensure_conversation.failed`: never leave the contact stuck in triaged."""
    if event.contact_id is None:
        return
    contact = await ctx.repository.get_contact(event.contact_id)
    if contact is None or contact.state != ContactState.TRIAGED:
        return
    await apply_trigger(ctx, contact, "resolve", reason="handoff failed")
    await end_bot_phase(ctx, contact)
    await effects.send_whatsapp_text(
        ctx, contact, HANDOFF_FAILED_TEXT, f"handoff-failed:{event.id}"
    )


async def _post_transcript(
    ctx: FlowContext, contact: Contact, cw_conversation_id: CwConversationId
) -> None:
    session = await get_bot_session(ctx.repository.database, contact.id)
    phase_start = session.phase_start_seq if session is not None else 1
    entries = [e for e in await ctx.repository.list_transcript(contact.id) if e.seq >= phase_start]
    for entry in place_by_timestamp(sorted(entries, key=lambda e: e.seq)):
        inbound = entry.direction == Direction.INBOUND
        source_id = (
            f"{effects.WHATSAPP_SOURCE_PREFIX}{entry.wa_message_id}"
            if inbound and entry.wa_message_id
            else f"{effects.BRIDGE_SOURCE_PREFIX}transcript:{contact.id}:{entry.seq}"
        )
        media = None
        if inbound and entry.wa_message_id and entry.kind in _MEDIA_KINDS:
            media = {"instance": contact.instance, "wa_message_id": str(entry.wa_message_id)}
        await effects.create_chatwoot_message(
            ctx,
            contact,
            conversation_id=int(cw_conversation_id),
            content=entry.body if media is None else _caption(entry.body),
            message_type="incoming" if inbound else "outgoing",
            source_id=source_id,
            key=f"transcript:{contact.id}:{cw_conversation_id}:{entry.seq}",
            media=media,
            wa_message_id=str(entry.wa_message_id) if inbound and entry.wa_message_id else None,
        )


_MEDIA_KINDS = {"image", "audio", "video", "document"}


def place_by_timestamp(entries: list[TranscriptEntry]) -> list[TranscriptEntry]:
    """Customer messages that arrived back to back are put in WhatsApp's order.

    Evolution retries webhooks without ordering, so a late retry can arrive after a newer
    message; `messageTimestamp` says where it belongs. Bot lines stay where they were sent.
    """
    placed: list[TranscriptEntry] = []
    run: list[TranscriptEntry] = []
    for entry in [*entries, None]:
        if entry is not None and entry.direction == Direction.INBOUND:
            run.append(entry)
            continue
        placed.extend(sorted(run, key=lambda e: (e.wa_timestamp_ms or 0, e.seq)))
        run = []
        if entry is not None:
            placed.append(entry)
    return placed


def _caption(body: str) -> str:
    return "" if body.startswith("[") and body.endswith("]") else body
