"""Resolve: the conversation is resolved (or set back to pending) → the contact goes to the bot."""

from __future__ import annotations

from bridge.flows.contacts import apply_trigger, end_bot_phase
from bridge.flows.context import FlowContext
from bridge.schemas.chatwoot import CwConversationEvent, parse_chatwoot_webhook
from bridge.state.records import ContactState, InboundEvent

_BACK_TO_BOT = {"resolved", "pending"}


async def handle_conversation_status(ctx: FlowContext, event: InboundEvent) -> None:
    parsed = parse_chatwoot_webhook(event.payload)
    if not isinstance(parsed, CwConversationEvent) or event.contact_id is None:
        return
    contact = await ctx.repository.get_contact(event.contact_id)
    if contact is None or contact.cw_conversation_id != parsed.cw_conversation_id:
        return
    if parsed.status in _BACK_TO_BOT and contact.state == ContactState.AGENT_HANDLED:
        await apply_trigger(ctx, contact, "resolve", reason=f"conversation {parsed.status}")
        await end_bot_phase(ctx, contact)
