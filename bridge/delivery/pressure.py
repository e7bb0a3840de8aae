"""Webhooks first: while events arrive far faster than the bridge can process them, background
work waits (a little).

A 200 is what Evolution and Chatwoot wait for (and Chatwoot never retries a webhook that timed
out); processing can happen a moment later, since every accepted event is stored. During a burst
(a campaign's replies, a reconnect flushing a backlog), inbox lanes and outbox claims would
otherwise take turns with every webhook on the one event loop, the senders would see slow
answers, and Evolution retries after its timeout, which adds load exactly when there is too
much.

A burst is a window in which more than `burst_per_s` events were stored, and more than twice as
many as the lanes have shown they can process in a window when nothing held them back: the
backlog grows whatever the bridge does, so answering first costs nothing. Traffic the bridge
keeps up with is never a burst, whatever its rate (a rule on the arrival rate alone held back
the processing of busy but healthy traffic, and so the traffic itself). Only stored events
count: echoes of the bridge's own messages are acknowledged cheaply. The wait is capped, so
background work still moves while a burst never ends; and when the measured capacity is stale
(held lanes measure nothing), a capped wait is followed by two windows of unthrottled
processing that measure it again.
"""

from __future__ import annotations

import asyncio
import time

CAPACITY_STALE_S = 5.0


class WebhookPressure:
    def __init__(
        self, *, burst_per_s: float = 600.0, window_s: float = 0.1, max_wait_s: float = 1.0
    ) -> None:
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self._burst_count = max(2, round(burst_per_s * window_s))
        self._window_start = 0.0
        self._stored = self._processed = 0  # in the current window
        self._held = False  # some background step waited during the current window
        self._last_stored = 0  # in the previous window
        self._capacity = 0  # most events processed in one unthrottled window, lately
        self._capacity_at = 0.0
        self._free_until = 0.0
        self.waits = 0  # background steps that waited for a burst
        self.stored_total = self.processed_total = 0

    def stored(self) -> None:
        """A webhook's event was stored (it will need processing)."""
        self._roll(time.monotonic())
        self._stored += 1
        self.stored_total += 1

    def processed(self) -> None:
        """An inbox lane processed an event."""
        self._roll(time.monotonic())
        self._processed += 1
        self.processed_total += 1

    @property
    def capacity_per_window(self) -> int:
        return self._capacity

    def _roll(self, now: float) -> None:
        if now - self._window_start < self.window_s:
            return
        # A window in which lanes were held, or processed nothing at all, measured nothing.
        if (
            not self._held
            and self._processed > 0
            and (self._processed >= self._capacity or now - self._capacity_at > CAPACITY_STALE_S)
        ):
            self._capacity, self._capacity_at = self._processed, now
        # A window with no count in between means the previous one is not "last".
        recent = now - self._window_start < 2 * self.window_s
        self._last_stored = self._stored if recent else 0
        self._window_start, self._stored, self._processed = now, 0, 0
        self._held = False

    def in_burst(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now < self._free_until:
            return False  # processing runs unthrottled, so its capacity is measured again
        if now - self._window_start >= 2 * self.window_s:
            return False  # nothing happened for a whole window
        current = self._stored if now - self._window_start < self.window_s else 0
        stored = max(current, self._last_stored)
        return stored >= self._burst_count and stored > 2 * self._capacity

    async def give_way(self) -> None:
        """Wait while a burst lasts, `max_wait_s` at most."""
        if not self.in_burst():
            return
        self.waits += 1
        deadline = time.monotonic() + self.max_wait_s
        while self.in_burst() and time.monotonic() < deadline:  # polls a rate
            self._held = True
            await asyncio.sleep(self.window_s / 2)
        now = time.monotonic()
        if self.in_burst(now) and now - self._capacity_at > CAPACITY_STALE_S:
            self._free_until = now + 2 * self.window_s
