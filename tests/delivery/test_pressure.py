"""Webhooks first: background work waits during a burst of stored events, never for long."""

from __future__ import annotations

import asyncio
import time

from bridge.delivery.pressure import WebhookPressure
from bridge.keys import PRESSURE
from tests.delivery.conftest import StartBridge
from tests.delivery.harness import wa_message


def test_steady_traffic_is_not_a_burst_and_a_burst_is() -> None:
    pressure = WebhookPressure(burst_per_s=400.0, window_s=0.05)  # 20 events per window
    start = time.monotonic()
    for n in range(19):
        pressure._count(start + n * 0.002)
    assert not pressure.in_burst(start + 0.04)
    pressure._count(start + 0.045)
    assert pressure.in_burst(start + 0.046)
    # The full window still counts during the next one, then the burst is over.
    pressure._count(start + 0.06)
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


async def test_stored_webhooks_feed_the_pressure_and_duplicates_do_not(
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
    assert pressure._in_window == 3
