"""A burst of customer messages and agent replies for many contacts in mixed states.

Contacts are split three ways before the burst: agent-handled (a Chatwoot conversation is
open), handoff in progress (their first burst message is the department choice) and bot-handled
(talking to Typebot). Each contact sends sequentially and retries a message until it is answered
200, like Evolution does, so the order of 200s is the order the bridge owes per contact.
Chaos (e.g. `kill -9` and restart of the bridge) runs alongside through `chaos`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.reliability.traffic import Outside, eventually

AGENT, HANDOFF, BOT = "agent", "handoff", "bot"
CHOICE = "1"


@dataclass
class ContactPlan:
    index: int
    phone: str
    group: str
    customer: list[str] = field(default_factory=list)  # texts answered 200, in order
    agent: list[int] = field(default_factory=list)  # Chatwoot message ids, in creation order
    agent_texts: dict[int, str] = field(default_factory=dict)
    conversation_id: int | None = None
    next_id: int = 0

    def wa_id(self) -> str:
        self.next_id += 1
        return f"3EB0{self.index:05d}{self.next_id:06d}"


@dataclass
class BurstResult:
    plans: list[ContactPlan]
    retries: int


def make_plans(contacts: int, seed: int) -> list[ContactPlan]:
    groups = [AGENT, HANDOFF, BOT]
    return [ContactPlan(i, f"2783{seed % 100:02d}{i:05d}", groups[i % 3]) for i in range(contacts)]


async def send_until_answered(outside: Outside, plan: ContactPlan, text: str) -> int:
    """Post one message (same id on every retry) until the bridge answers 200."""
    wa_id = plan.wa_id()
    body = outside.upsert_body(plan.phone, text, wa_id)
    retries = 0
    while (status := await outside.post_evolution(body)) != 200:
        assert status in (0, 503), f"unexpected answer {status} for {text!r}"
        retries += 1
        await asyncio.sleep(0.05)
    return retries


async def bring_into_states(outside: Outside, plans: list[ContactPlan]) -> None:
    """Before the burst: every contact has seen the menu; agent contacts are handed off."""
    await asyncio.gather(*(send_until_answered(outside, p, "Hi") for p in plans))

    async def menus_seen() -> bool:
        sent = await outside.sent_texts()
        return all(len(sent.get(p.phone, [])) >= 2 for p in plans)

    await eventually(menus_seen, timeout_s=60, what="every contact saw the menu")
    agents = [p for p in plans if p.group == AGENT]
    await asyncio.gather(*(send_until_answered(outside, p, CHOICE) for p in agents))
    for plan in agents:
        contact = await outside.wait_state(plan.phone, "agent_handled", timeout_s=60)
        plan.conversation_id = int(contact["cw_conversation_id"])


async def run_burst(
    outside: Outside,
    plans: list[ContactPlan],
    total_messages: int,
    seed: int,
    chaos: Callable[[], Awaitable[None]] | None = None,
) -> BurstResult:
    rng = random.Random(seed)
    per_contact = max(1, total_messages // len(plans))
    retries = 0

    async def one_contact(plan: ContactPlan) -> None:
        nonlocal retries
        local = random.Random(rng.random())
        if plan.group == HANDOFF:
            retries += await send_until_answered(outside, plan, CHOICE)
        for n in range(per_contact):
            if plan.group == AGENT and local.random() < 0.25:
                assert plan.conversation_id is not None
                text = f"a:{plan.index}:{n}"
                message_id = await outside.agent_replies(plan.conversation_id, text)
                plan.agent.append(message_id)
                plan.agent_texts[message_id] = text
            else:
                text = f"m:{plan.index}:{n}"
                retries += await send_until_answered(outside, plan, text)
                plan.customer.append(text)
            await asyncio.sleep(local.random() * 0.02)

    senders = asyncio.gather(*(one_contact(p) for p in plans))
    if chaos is None:
        await senders
    else:
        await asyncio.gather(senders, chaos())
    return BurstResult(plans, retries)


async def hand_off_the_rest(outside: Outside, plans: list[ContactPlan]) -> None:
    """After the burst, every contact not yet with an agent picks a department (again)."""

    async def one(plan: ContactPlan) -> None:
        for _ in range(6):
            contact = await outside.contact(plan.phone)
            if contact and contact["state"] == "agent_handled":
                return
            if contact and contact["state"] == "bot_handled":
                await send_until_answered(outside, plan, CHOICE)
            try:
                await outside.wait_state(plan.phone, "agent_handled", timeout_s=10)
                return
            except AssertionError:
                continue
        last = await outside.contact(plan.phone)
        raise AssertionError(f"{plan.phone} never reached an agent: {last}")

    await asyncio.gather(*(one(p) for p in plans))
