"""What must hold after a burst has drained: exactly once, in order, nobody stuck."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.reliability.burst import ContactPlan
from tests.reliability.traffic import Outside, eventually

INCOMING = 0


def _customer_lines(conversation: dict[str, Any] | None, plan: ContactPlan) -> list[str]:
    if conversation is None:
        return []
    prefix = f"m:{plan.index}:"
    return [
        str(m["content"])
        for m in conversation["messages"]
        if m["message_type"] == INCOMING and str(m.get("content") or "").startswith(prefix)
    ]


def _agent_lines(sent: dict[str, list[str]], plan: ContactPlan) -> list[str]:
    prefix = f"a:{plan.index}:"
    return [t for t in sent.get(plan.phone, []) if t.startswith(prefix)]


async def _acknowledged_agent_ids(outside: Outside) -> set[int]:
    return {
        int(d["message_id"])
        for d in await outside.chatwoot_deliveries()
        if d.get("event") == "message_created"
        and d.get("message_id") is not None
        and 200 <= int(d.get("status") or 0) < 300
    }


async def wait_drained(outside: Outside, plans: list[ContactPlan], timeout_s: float) -> None:
    """Every acknowledged message has arrived and the outbox is empty."""

    async def arrived() -> bool:
        conversations = await outside.conversations()
        sent = await outside.sent_texts()
        acked = await _acknowledged_agent_ids(outside)
        for plan in plans:
            lines = _customer_lines(conversations.get(plan.phone), plan)
            if len(lines) < len(plan.customer):
                return False
            wanted = {plan.agent_texts[i] for i in plan.agent if i in acked}
            if not wanted <= set(_agent_lines(sent, plan)):
                return False
        return True

    await eventually(arrived, timeout_s=timeout_s, what="every acknowledged message delivered")

    async def outbox_empty() -> bool:
        status, body = await outside.readyz()
        return status == 200 and "pending=0 " in body["checks"]["outbox"]["detail"]

    await eventually(outbox_empty, timeout_s=timeout_s, what="outbox drained")
    await asyncio.sleep(0.5)  # stragglers (echo webhooks) would show up now, not later


async def assert_exactly_once_in_order(outside: Outside, plans: list[ContactPlan]) -> None:
    conversations = await outside.conversations()
    sent = await outside.sent_texts()
    acked = await _acknowledged_agent_ids(outside)
    problems: list[str] = []
    for plan in plans:
        lines = _customer_lines(conversations.get(plan.phone), plan)
        if lines != plan.customer:
            problems.append(f"{plan.phone} ({plan.group}) Chatwoot: {lines} ≠ {plan.customer}")
        agent_lines = _agent_lines(sent, plan)
        created = [plan.agent_texts[i] for i in plan.agent]
        # Replies whose webhook failed may or may not arrive; none twice, none out of order.
        if len(agent_lines) != len(set(agent_lines)) or agent_lines != [
            t for t in created if t in agent_lines
        ]:
            problems.append(f"{plan.phone} WhatsApp got {agent_lines}, agent wrote {created}")
        missing = [plan.agent_texts[i] for i in plan.agent if i in acked]
        if not set(missing) <= set(agent_lines):
            problems.append(f"{plan.phone} acknowledged agent replies missing")
        echoed = [t for t in sent.get(plan.phone, []) if t.startswith("m:")]
        if echoed:
            problems.append(f"{plan.phone} customer lines echoed back to WhatsApp: {echoed}")
        contact = await outside.contact(plan.phone)
        if contact is None or contact["state"] != "agent_handled":
            problems.append(f"{plan.phone} ended in {contact and contact['state']}")
    assert not problems, "\n".join(problems[:20])
