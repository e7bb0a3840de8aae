"""Webhooks first: background work waits while stored events outrun processing, never for long."""

from __future__ import annotations

import asyncio
import time

from bridge.delivery.pressure import WebhookPressure
from bridge.keys import PRESSURE
from tests.delivery.conftest import StartBridge
from tests.delivery.harness import wa_message


def _window(pressure: WebhookPressure, at: float, stored: int, processed: int) -> None:
    """One window's counts, as stored() and processed() would leave them."""
    pressure._roll(at)
    pressure._stored, pressure._processed = stored, processed


def test_traffic_that_is_kept_up_with_is_never_a_burst_at_any_rate() -> None:
    pressure = WebhookPressure(burst_per_s=400.0, window_s=0.05)  # 20 stored per window
    at = time.monotonic()
    # Rising to 3,000 events/s, each processed as it arrives (never more than doubling).
    for load in (19, 30, 50, 80, 120, 150, 150, 150, 150):
        _window(pressure, at, load, load)
        assert not pressure.in_burst(at + 0.01)
        at += 0.051


def test_more_than_twice_the_measured_capacity_is_a_burst_until_it_passes() -> None:
    pressure = WebhookPressure(burst_per_s=400.0, window_s=0.05)  # 20 stored per window
    start = time.monotonic()
    _window(pressure, start, 12, 12)
    _window(pressure, start + 0.051, 0, 0)  # ends the first window: 12 per window measured
    assert pressure.capacity_per_window == 12
    pressure._stored = 24  # twice the capacity: not yet
    assert not pressure.in_burst(start + 0.06)
    pressure._stored = 25
    assert pressure.in_burst(start + 0.06)
    # The full window still counts during the next one, then the burst is over.
    _window(pressure, start + 0.102, 0, 0)
    assert pressure.in_burst(start + 0.11)
    assert not pressure.in_burst(start + 0.25)


def test_held_windows_do_not_lower_the_capacity() -> None:
    pressure = WebhookPressure(burst_per_s=400.0, window_s=0.05)
    start = time.monotonic()
    _window(pressure, start, 30, 30)
    _window(pressure, start + 0.051, 100, 0)
    pressure._held = True  # lanes waited: their count says nothing about what they could do
    _window(pressure, start + 0.102, 0, 0)
    assert pressure.capacity_per_window == 30


async def test_give_way_returns_at_once_when_calm() -> None:
    pressure = WebhookPressure()
    started = time.monotonic()
    await pressure.give_way()
    assert time.monotonic() - started < 0.05
    assert pressure.waits == 0


async def test_give_way_waits_out_a_burst_but_only_up_to_the_cap() -> None:
    pressure = WebhookPressure(burst_per_s=100.0, window_s=0.05, max_wait_s=0.2)
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
    # Then processing runs unthrottled for a moment, so its rate is measured again: held
    # lanes process nothing, which alone would keep the burst going.
    free_right_after = not pressure.in_burst()
    stop.set()
    await burst
    assert pressure.waits == 1
    assert waited >= 0.2  # it did wait while events kept coming…
    assert waited < 2.0  # …and came back although the burst never ended
    assert free_right_after


async def test_give_way_resumes_when_the_burst_ends() -> None:
    pressure = WebhookPressure(burst_per_s=100.0, window_s=0.01, max_wait_s=5.0)
    for _ in range(10):  # nothing processed yet: capacity 0
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
    for n in range(3):
        response = await bridge.post_evolution(wa_message("inst-demo", "27820000009", f"P-{n}"))
        assert (await response.json())["stored"] is True
    duplicate = await bridge.post_evolution(wa_message("inst-demo", "27820000009", "P-0"))
    assert (await duplicate.json())["duplicate"] is True
    assert pressure.stored_total == 3
    for _ in range(100):  # the lanes count what they process: the other half of the rule
        if pressure.processed_total >= 3:
            break
        await asyncio.sleep(0.05)
    assert pressure.processed_total >= 3
