"""Webhooks first: background work waits while stored events outrun processing, never for long."""

from __future__ import annotations

import asyncio
import time

from bridge.delivery.pressure import WebhookPressure
from bridge.keys import PRESSURE
from tests.delivery.conftest import StartBridge
from tests.delivery.harness import wa_message


def test_traffic_that_is_kept_up_with_is_never_a_burst_at_any_rate() -> None:
    pressure = WebhookPressure(burst_per_s=400.0, window_s=0.05)  # 20 stored per window
    now = time.monotonic()
    for _ in range(10):  # 20,000 events/s, each processed as it arrives
        for _ in range(50):
            now += 0.0001
            pressure._roll(now)
            pressure._stored += 1
            pressure._roll(now)
            pressure._processed += 1
        assert not pressure.in_burst(now)


def test_a_backlog_growing_faster_than_the_rate_is_a_burst_until_it_passes() -> None:
    pressure = WebhookPressure(burst_per_s=400.0, window_s=0.05)  # 20 stored per window
    start = time.monotonic()
    pressure._roll(start)
    pressure._stored, pressure._processed = 19, 0
    assert not pressure.in_burst(start + 0.04)  # below the rate: not a burst
    pressure._stored = 30
    pressure._processed = 15  # half processed: the backlog is not running away
    assert not pressure.in_burst(start + 0.04)
    pressure._processed = 14
    assert pressure.in_burst(start + 0.04)
    # The full window still counts during the next one, then the burst is over.
    pressure._roll(start + 0.06)
    assert pressure.in_burst(start + 0.07)
    assert not pressure.in_burst(start + 0.2)


async def test_give_way_returns_at_once_when_calm() -> None:
    pressure = WebhookPressure()
    started = time.monotonic()
    await pressure.give_way()
    assert time.monotonic() - started < 0.05
    assert pressure.waits == 0


async def test_give_way_waits_out_a_burst_but_only_up_to_the_cap() -> None:
    pressure = WebhookPressure(burst_per_s=100.0, window_s=0.01, max_wait_s=0.2)
    stop = asyncio.Event()

    async def endless_burst() -> None:
        while not stop.is_set():
            for _ in range(5):
                pressure.stored()
            await asyncio.sleep(0.005)

    burst = asyncio.create_task(endless_burst())
    await asyncio.sleep(0.02)
    started = time.monotonic()
    await pressure.give_way()
    waited = time.monotonic() - started
    stop.set()
    await burst
    assert pressure.waits == 1
    assert waited >= 0.2  # it did wait while events kept coming…
    assert waited < 2.0  # …and came back although the burst never ended


async def test_give_way_resumes_when_the_burst_ends() -> None:
    pressure = WebhookPressure(burst_per_s=100.0, window_s=0.01, max_wait_s=5.0)
    for _ in range(10):
        pressure.stored()
    started = time.monotonic()
    await pressure.give_way()
    assert pressure.waits == 1
    assert time.monotonic() - started < 1.0  # two quiet windows end it, not the 5 s cap


async def test_stored_and_processed_events_feed_the_pressure_and_duplicates_do_not(
    start_bridge: StartBridge,
) -> None:
    bridge = await start_bridge()
    pressure = bridge.app[PRESSURE]
    pressure.window_s = 60.0  # one window for the whole test: counts are exact
    for n in range(3):
        response = await bridge.post_evolution(wa_message("inst-demo", "27820000009", f"P-{n}"))
        assert (await response.json())["stored"] is True
    duplicate = await bridge.post_evolution(wa_message("inst-demo", "27820000009", "P-0"))
    assert (await duplicate.json())["duplicate"] is True
    assert pressure._stored == 3
    for _ in range(100):  # the lanes count what they process: the other half of the rule
        if pressure._processed >= 3:
            break
        await asyncio.sleep(0.05)
    assert pressure._processed >= 3
