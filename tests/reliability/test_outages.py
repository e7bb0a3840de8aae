"""Upstream and storage outages: webhooks still stored (or 503), nothing lost, order kept.

Chatwoot goes down three ways (connection refused, 503s, slow answers), then Typebot and
Evolution; the SQLite file is locked by another process. While an upstream fails, `/readyz`
names it; afterwards everything acknowledged is delivered exactly once, in order, and nothing
is dead-lettered (every failure was temporary).
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tests.reliability.burst import (
    AGENT,
    BOT,
    ContactPlan,
    bring_into_states,
    hand_off_the_rest,
    send_until_answered,
)
from tests.reliability.checks import assert_exactly_once_in_order, wait_drained
from tests.reliability.live import BridgeProcess, PreparedStack, SimOutage
from tests.reliability.traffic import Outside, eventually


def _plans(group: str, count: int, base: int = 0) -> list[ContactPlan]:
    return [ContactPlan(base + i, f"27840{base + i:05d}", group) for i in range(count)]


async def _customer_lines(outside: Outside, plans: list[ContactPlan], tag: str, n: int) -> None:
    async def one(plan: ContactPlan) -> None:
        for k in range(n):
            text = f"m:{plan.index}:{tag}{k}"
            await send_until_answered(outside, plan, text)
            plan.customer.append(text)

    await asyncio.gather(*(one(p) for p in plans))


async def _readyz_names(outside: Outside, target: str) -> str:
    async def probe() -> str | None:
        status, body = await outside.readyz()
        detail = str(body["checks"]["upstreams"]["detail"])
        return detail if status == 200 and target in detail else None

    return await eventually(probe, timeout_s=30, what=f"/readyz naming {target}")


async def _readyz_clear(outside: Outside) -> None:
    async def probe() -> bool:
        status, body = await outside.readyz()
        return status == 200 and body["checks"]["upstreams"]["detail"] == "ok"

    await eventually(probe, timeout_s=90, what="/readyz without failing upstreams")


async def chatwoot_outage(
    stack: PreparedStack, outside: Outside, *, outage_s: float, slow_s: float
) -> None:
    plans = _plans(AGENT, 4)
    await bring_into_states(outside, plans)
    chatwoot = SimOutage(stack.sims, "chatwoot")

    await chatwoot.down()  # connection refused
    await _customer_lines(outside, plans, "refused", 3)
    assert "chatwoot unreachable" in await _readyz_names(outside, "chatwoot")
    await asyncio.sleep(outage_s)
    await chatwoot.up()

    # Then every call answers 503 for a while.
    await outside.faults("chatwoot", count=1000, mode="status", status=503, path_prefix="/api/")
    await _customer_lines(outside, plans, "503-", 3)
    assert "chatwoot HTTP 503" in await _readyz_names(outside, "chatwoot HTTP 503")
    await asyncio.sleep(outage_s)
    await outside.clear_faults("chatwoot")

    # Then slow answers (past the client timeout in the soak version).
    await outside.faults("chatwoot", count=8, mode="delay", delay_s=slow_s, path_prefix="/api/")
    await _customer_lines(outside, plans, "slow", 2)

    await wait_drained(outside, plans, timeout_s=240)
    await _readyz_clear(outside)
    await assert_exactly_once_in_order(outside, plans)
    assert await outside.dead_letters() == []


async def test_chatwoot_refused_then_503_then_slow(
    stack: PreparedStack, bridge: BridgeProcess, outside: Outside
) -> None:
    await chatwoot_outage(stack, outside, outage_s=2, slow_s=1)
    assert bridge.alive


@pytest.mark.soak
async def test_chatwoot_down_60s_soak(
    stack: PreparedStack, bridge: BridgeProcess, outside: Outside
) -> None:
    # 20 s refused + 20 s of 503s + answers slower than the 30 s client timeout.
    await chatwoot_outage(stack, outside, outage_s=20, slow_s=35)
    assert bridge.alive


async def typebot_and_evolution_outage(
    stack: PreparedStack, outside: Outside, *, outage_s: float
) -> None:
    bots = _plans(BOT, 3)
    agents = _plans(AGENT, 3, base=10)
    await bring_into_states(outside, [*bots, *agents])
    typebot = SimOutage(stack.sims, "typebot")
    evolution = SimOutage(stack.sims, "evolution")

    # Typebot refuses connections: the customers' turns wait, then reach the bot.
    await typebot.down()
    await _customer_lines(outside, bots, "tb", 2)
    assert "typebot unreachable" in await _readyz_names(outside, "typebot")
    await asyncio.sleep(outage_s)
    await typebot.up()

    # Evolution refuses connections: the agents' replies wait, then reach WhatsApp.
    sent_before = await outside.sent_texts()
    await evolution.down()
    for plan in agents:
        assert plan.conversation_id is not None
        for k in range(2):
            text = f"a:{plan.index}:{k}"
            message_id = await outside.agent_replies(plan.conversation_id, text)
            plan.agent.append(message_id)
            plan.agent_texts[message_id] = text
    assert "evolution unreachable" in await _readyz_names(outside, "evolution")
    await asyncio.sleep(outage_s)
    await evolution.up()
    assert all(not any(t.startswith("a:") for t in sent_before.get(p.phone, [])) for p in agents)

    await hand_off_the_rest(outside, bots)
    await wait_drained(outside, [*bots, *agents], timeout_s=240)
    await _readyz_clear(outside)
    await assert_exactly_once_in_order(outside, [*bots, *agents])
    assert await outside.dead_letters() == []


async def test_typebot_then_evolution_refusing(
    stack: PreparedStack, bridge: BridgeProcess, outside: Outside
) -> None:
    await typebot_and_evolution_outage(stack, outside, outage_s=2)
    assert bridge.alive


@pytest.mark.soak
async def test_typebot_then_evolution_down_60s_soak(
    stack: PreparedStack, bridge: BridgeProcess, outside: Outside
) -> None:
    await typebot_and_evolution_outage(stack, outside, outage_s=60)
    assert bridge.alive


async def test_locked_sqlite_answers_503_then_recovers(
    stack: PreparedStack, bridge: BridgeProcess, outside: Outside
) -> None:
    plans = _plans(AGENT, 2)
    await bring_into_states(outside, plans)
    path = Path(stack.settings.bridge_database_url.removeprefix("sqlite:///"))
    # Another process holds the write lock longer than the bridge's busy timeout.
    blocker = sqlite3.connect(path, timeout=1, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        plan = plans[0]
        body = outside.upsert_body(plan.phone, f"m:{plan.index}:locked", plan.wa_id())
        status = await outside.post_evolution(body)
        assert status == 503
        ready_status, ready = await outside.readyz()
        assert ready_status == 503
        assert not ready["checks"]["storage"]["ok"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # Evolution retries the refused delivery; now it is stored and delivered once.
    assert await outside.post_evolution(body) == 200
    plan.customer.append(f"m:{plan.index}:locked")
    await _customer_lines(outside, plans, "after", 2)
    await wait_drained(outside, plans, timeout_s=60)
    await assert_exactly_once_in_order(outside, plans)
    assert await outside.dead_letters() == []
    assert bridge.alive
