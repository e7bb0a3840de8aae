"""`kill -9` of the bridge at random moments during a burst: nothing lost, nothing twice, in order.

Fast version in `make test`; the 5,000-message / 100-contact / 5-seed version is `make soak`.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.reliability.burst import bring_into_states, hand_off_the_rest, make_plans, run_burst
from tests.reliability.checks import assert_exactly_once_in_order, wait_drained
from tests.reliability.live import BridgeProcess, PreparedStack
from tests.reliability.traffic import Outside


async def crash_run(
    stack: PreparedStack,
    bridge: BridgeProcess,
    outside: Outside,
    *,
    contacts: int,
    messages: int,
    kills: int,
    seed: int,
) -> None:
    plans = make_plans(contacts, seed)
    await bring_into_states(outside, plans)
    rng = random.Random(seed)

    async def killer() -> None:
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(0.3, 2.0))
            await bridge.kill()
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            await bridge.start()

    result = await run_burst(outside, plans, messages, seed, chaos=killer)
    assert bridge.starts == kills + 1
    await hand_off_the_rest(outside, plans)
    await wait_drained(outside, plans, timeout_s=180)
    await assert_exactly_once_in_order(outside, result.plans)
    assert bridge.alive


async def test_kill_9_during_burst_loses_and_duplicates_nothing(
    stack: PreparedStack, bridge: BridgeProcess, outside: Outside
) -> None:
    await crash_run(stack, bridge, outside, contacts=20, messages=500, kills=3, seed=7)


@pytest.mark.soak
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_kill_9_soak(
    stack: PreparedStack, bridge: BridgeProcess, outside: Outside, seed: int
) -> None:
    await crash_run(stack, bridge, outside, contacts=100, messages=5000, kills=12, seed=seed)
