"""Small steps every flow shares: fire a trigger and record it, end a bot phase."""

from __future__ import annotations

from typing import Any

from bridge.flows.context import FlowContext
from bridge.state.bot_sessions import delete_bot_session
from bridge.state.machine import fire
from bridge.state.records import Contact


async def apply_trigger(
    ctx: FlowContext, contact: Contact, trigger: str, *, reason: str, **kwargs: Any
) -> None:
    """Fire an FSM trigger on the locked contact and store the contact and its transition."""
    transition = fire(contact, trigger, reason=reason, at_ms=ctx.clock.now_ms(), **kwargs)
    contact.updated_at_ms = transition.at_ms
    await ctx.repository.save_contact(contact)
    await ctx.repository.record_transition(transition)
    if ctx.metrics is not None:
        ctx.metrics.child(ctx.metrics.transitions, trigger).inc()


async def end_bot_phase(ctx: FlowContext, contact: Contact) -> None:
    """The bot is done with this contact until it is handed back (resolve)."""
    await delete_bot_session(ctx.repository.database, contact.id)
