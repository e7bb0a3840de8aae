"""Typebot triage (bot_handled): one Typebot call in flight per contact, answers rendered in order.

Customer turns that arrive while a call is in flight are queued in the bot session and sent one
by one when the answer is back, so a reply is always matched against the menu the customer saw.
While a menu is open, a queued turn that fits none of its items is skipped when the customer has
written again since: Typebot would only answer it with "Invalid message" and the same menu, so a
customer who wrote on while the bot was busy gets one answer, and their choice is not held up
behind a backlog of re-prompts (every line stays in the transcript the agent reads).
A failed continueChat is not retried blindly (it is not idempotent): the customer gets a short
apology and their next message continues, matched against the menu they still see. A session
Typebot no longer knows (404) or one idle longer than the timeout starts afresh.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from bridge.delivery.ingest import contact_token, session_nonce_from_token
from bridge.departments import Department
from bridge.flows import effects
from bridge.flows.contacts import apply_trigger
from bridge.flows.context import FlowContext
from bridge.render import ChoiceItem, match_choice, render_choice_menu
from bridge.render.typebot_reply import (
    WhatsAppChoicePrompt,
    WhatsAppMedia,
    WhatsAppText,
    bubble_from_message,
    choice_items_from_input,
    render_typebot_reply,
)
from bridge.schemas.typebot import parse_continue_chat, parse_start_chat, parse_typebot_handoff
from bridge.state.bot_sessions import BotSession, QueuedTurn, get_bot_session, save_bot_session
from bridge.state.records import Contact, ContactState, Direction, InboundEvent, TranscriptEntry

log = logging.getLogger(__name__)

FALLBACK_TEXT = "Sorry, I couldn't process that just now. Please send your message again."
CHATWOOT_BLOCK_ACTION = "chatwoot"


async def bot_turn(
    ctx: FlowContext, contact: Contact, entry: TranscriptEntry, reply_id: str | None
) -> None:
    """The customer's message `entry` (already in the transcript) for the bot."""
    db, now = ctx.repository.database, ctx.clock.now_ms()
    session = await get_bot_session(db, contact.id)
    if session is not None and session.paused_until_ms and session.paused_until_ms > now:
        return  # a human is writing from the business phone
    timeout_ms = ctx.settings.bridge_bot_session_timeout_min * 60_000
    idle = session is not None and now - session.last_activity_ms > timeout_ms
    if session is None or (not session.inflight and (session.tb_session_id is None or idle)):
        await _start_session(ctx, contact, entry.seq)
        return
    session.last_activity_ms = now
    turn = QueuedTurn(entry.body, reply_id, str(entry.wa_message_id or entry.seq))
    if session.inflight:
        session.queued.append(turn)
        await save_bot_session(db, session)
        return
    await _continue(ctx, contact, session, turn)


async def pause_bot(ctx: FlowContext, contact: Contact) -> None:
    """A human took over from the phone: the bot stays quiet for one session timeout."""
    db, now = ctx.repository.database, ctx.clock.now_ms()
    session = await get_bot_session(db, contact.id) or _new_session(contact, now, 1)
    session.paused_until_ms = now + ctx.settings.bridge_bot_session_timeout_min * 60_000
    session.queued.clear()
    await save_bot_session(db, session)


def _new_session(contact: Contact, now: int, phase_start_seq: int) -> BotSession:
    return BotSession(
        contact_id=contact.id,
        nonce=secrets.token_urlsafe(12),
        started_at_ms=now,
        last_activity_ms=now,
        phase_start_seq=phase_start_seq,
    )


async def _start_session(ctx: FlowContext, contact: Contact, first_seq: int) -> None:
    db, now = ctx.repository.database, ctx.clock.now_ms()
    previous = await get_bot_session(db, contact.id)
    # An expired session of the same bot phase keeps the phase's transcript start.
    phase_start = previous.phase_start_seq if previous is not None else first_seq
    session = _new_session(contact, now, phase_start)
    session.inflight = True
    phone = contact.wa_phone_jid.split("@", 1)[0] if contact.wa_phone_jid else ""
    prefilled = {
        "bridge_contact": contact_token(contact.id, session.nonce),
        "phone": phone,
        "name": contact.push_name or "",
    }
    await save_bot_session(db, session)
    await ctx.enqueue(
        effects.START_CHAT,
        f"{effects.START_CHAT}:{contact.id}:{session.nonce}",
        {
            "public_id": ctx.settings.typebot_public_id,
            "prefilled": prefilled,
            "nonce": session.nonce,
        },
        contact.id,
    )


async def _continue(
    ctx: FlowContext, contact: Contact, session: BotSession, turn: QueuedTurn
) -> None:
    items = [ChoiceItem(c["id"], c["content"]) for c in session.pending_choices or []]
    chosen = match_choice(turn.text, turn.reply_id, items) if items else None
    # Typebot matches choices exactly (case-sensitive): send the item label and its id.
    text, reply_id = (chosen.content, chosen.id) if chosen else (turn.text, None)
    # The menu stays known until the answer replaces it: if the call fails, the customer's next
    # message is still matched against the menu they are looking at.
    session.inflight = True
    await save_bot_session(ctx.repository.database, session)
    await ctx.enqueue(
        effects.CONTINUE_CHAT,
        f"{effects.CONTINUE_CHAT}:{contact.id}:{turn.wa_message_id}",
        {
            "session_id": session.tb_session_id,
            "text": text,
            "reply_id": reply_id,
            "chosen": chosen.content if chosen else None,
            "nonce": session.nonce,
        },
        contact.id,
    )


async def handle_typebot_reply(ctx: FlowContext, event: InboundEvent) -> None:
    """`typebot.start_chat.done` / `typebot.continue_chat.done`: render and send the answer."""
    contact, session = await _current(ctx, event)
    if contact is None or session is None:
        return
    request: dict[str, Any] = event.payload["request"]
    raw: dict[str, Any] = event.payload["result"]["response"]
    if event.kind.startswith(effects.START_CHAT):
        started = parse_start_chat(raw)
        session.tb_session_id = started.session_id
        ended = started.flow_ended
        actions = [a.type for a in started.client_side_actions]
    else:
        continued = parse_continue_chat(raw)
        ended = continued.flow_ended
        actions = [a.type for a in continued.client_side_actions]
    session.inflight = False
    session.last_activity_ms = ctx.clock.now_ms()
    choices = choice_items_from_input(raw.get("input"))
    session.pending_choices = [{"id": c.id, "content": c.content} for c in choices or []] or None
    bubbles = [b for b in (bubble_from_message(m) for m in raw.get("messages", [])) if b]
    if contact.state != ContactState.AGENT_HANDLED:
        buttons = ctx.settings.bridge_choice_buttons
        for index, outgoing in enumerate(render_typebot_reply(bubbles, choices, buttons=buttons)):
            await _send_bot_message(ctx, contact, outgoing, f"tb:{event.id}:{index}")
    if ended:
        session.tb_session_id = None
        session.queued.clear()
        await save_bot_session(ctx.repository.database, session)
        department = _fallback_department(ctx, request.get("chosen"), actions)
        if department is not None and contact.state == ContactState.BOT_HANDLED:
            await start_handoff(ctx, contact, session, department, "typebot flow ended on choice")
        return
    if session.queued and contact.state == ContactState.BOT_HANDLED:
        await _continue(ctx, contact, session, _next_turn(session))
        return
    await save_bot_session(ctx.repository.database, session)


def _next_turn(session: BotSession) -> QueuedTurn:
    """Take the next queued turn, skipping those that fit no item of the open menu and are
    followed by another turn (Typebot would only re-prompt them). Without a menu (text input)
    every turn is an answer that counts, so none is skipped."""
    items = [ChoiceItem(c["id"], c["content"]) for c in session.pending_choices or []]
    while items and len(session.queued) > 1:
        head = session.queued[0]
        if match_choice(head.text, head.reply_id, items) is not None:
            break
        session.queued.pop(0)
    return session.queued.pop(0)


async def handle_typebot_failed(ctx: FlowContext, event: InboundEvent) -> None:
    """A Typebot call failed for good: start over on 404, else apologise and go on."""
    contact, session = await _current(ctx, event)
    if contact is None or session is None:
        return
    session.inflight = False
    error = str(event.payload.get("error", ""))
    if "TypebotSessionGone" in error and contact.state == ContactState.BOT_HANDLED:
        # The flow ended or Typebot forgot the session: start again, the customer sees the menu.
        await _start_session(ctx, contact, session.phase_start_seq)
        return
    if event.kind.startswith(effects.START_CHAT):
        session.tb_session_id = None
    if contact.state == ContactState.BOT_HANDLED:
        await effects.send_whatsapp_text(ctx, contact, FALLBACK_TEXT, f"tb-failed:{event.id}")
        await _append_bot_line(ctx, contact, FALLBACK_TEXT)
    if session.queued and session.tb_session_id is not None:
        await _continue(ctx, contact, session, _next_turn(session))
        return
    session.queued.clear()
    await save_bot_session(ctx.repository.database, session)


async def handle_typebot_handoff(ctx: FlowContext, event: InboundEvent) -> None:
    """The Typebot HTTP block chose a department (`POST /webhooks/typebot`)."""
    if event.contact_id is None:
        return
    handoff = parse_typebot_handoff(event.payload)
    contact = await ctx.repository.get_contact(event.contact_id)
    session = await get_bot_session(ctx.repository.database, event.contact_id)
    department = ctx.departments.find(handoff.department)
    stale = session is None or session.nonce != session_nonce_from_token(handoff.bridge_contact)
    if contact is None or department is None or stale:
        log.info("typebot handoff ignored (stale session or unknown contact)")
        return
    assert session is not None
    if contact.state != ContactState.BOT_HANDLED:
        return  # already being handed over: the callback is idempotent per bot session
    if handoff.name and not contact.push_name:
        contact.push_name = handoff.name
    await start_handoff(ctx, contact, session, department, "typebot handoff callback")


async def start_handoff(
    ctx: FlowContext, contact: Contact, session: BotSession, department: Department, reason: str
) -> None:
    """`triage`: open (or reuse) the department's conversation; the transcript follows."""
    await apply_trigger(ctx, contact, "triage", reason=reason, department=department.key)
    phone = contact.wa_phone_jid.split("@", 1)[0] if contact.wa_phone_jid else None
    await ctx.enqueue(
        effects.ENSURE_CONVERSATION,
        f"{effects.ENSURE_CONVERSATION}:{contact.id}:{session.nonce}",
        {
            "inbox_id": department.chatwoot_inbox_id,
            "team_id": department.chatwoot_team_id,
            "department": department.key,
            "identifier": contact.wa_jid,
            "source_id": contact.wa_jid,
            "phone": f"+{phone}" if phone and phone.isdigit() else None,
            "name": contact.push_name or (f"+{phone}" if phone else contact.wa_jid),
            "labels": ["whatsapp", department.key.lower()],
        },
        contact.id,
    )


async def _current(
    ctx: FlowContext, event: InboundEvent
) -> tuple[Contact | None, BotSession | None]:
    """The contact and its bot session, if the answer belongs to the session still running."""
    if event.contact_id is None:
        return None, None
    contact = await ctx.repository.get_contact(event.contact_id)
    session = await get_bot_session(ctx.repository.database, event.contact_id)
    if session is None or session.nonce != event.payload.get("request", {}).get("nonce"):
        return contact, None  # a newer session replaced it, or the bot phase is over
    return contact, session


def _fallback_department(
    ctx: FlowContext, chosen: str | None, actions: list[str]
) -> Department | None:
    """The flow ended right after a choice naming a department (or with a Chatwoot block)."""
    if not chosen:
        return None
    department = ctx.departments.find(chosen)
    if department is None and CHATWOOT_BLOCK_ACTION in actions:
        log.info("typebot ended with a Chatwoot block but choice %r is no department", chosen)
    return department


async def _send_bot_message(ctx: FlowContext, contact: Contact, outgoing: object, key: str) -> None:
    if isinstance(outgoing, WhatsAppText):
        await effects.send_whatsapp_text(ctx, contact, outgoing.content, key)
        await _append_bot_line(ctx, contact, outgoing.content)
    elif isinstance(outgoing, WhatsAppMedia):
        await effects.send_whatsapp_media(
            ctx,
            contact,
            kind=outgoing.kind,
            url=outgoing.url,
            key=key,
            caption=outgoing.caption,
            file_name=outgoing.file_name,
        )
        await _append_bot_line(ctx, contact, outgoing.url, kind=outgoing.kind)
    elif isinstance(outgoing, WhatsAppChoicePrompt):
        await ctx.enqueue(
            effects.SEND_CHOICES,
            f"{effects.SEND_CHOICES}:{key}",
            {
                "instance": contact.instance,
                "number": contact.wa_jid,
                "style": outgoing.style,
                "prompt": outgoing.prompt,
                "items": [{"id": i.id, "content": i.content} for i in outgoing.items],
            },
            contact.id,
        )
        # The transcript shows the menu as text, the way an agent reads it best.
        menu = render_choice_menu([outgoing.prompt] if outgoing.prompt else [], outgoing.items)
        await _append_bot_line(ctx, contact, menu)


async def _append_bot_line(
    ctx: FlowContext, contact: Contact, body: str, kind: str = "text"
) -> None:
    await ctx.repository.append_transcript(
        TranscriptEntry(
            contact_id=contact.id,
            direction=Direction.OUTBOUND,
            body=body,
            kind=kind,
            media_url=body if kind != "text" else None,
            created_at_ms=ctx.clock.now_ms(),
        )
    )
