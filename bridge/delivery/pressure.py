"""Webhooks first: during a burst of new events, background work waits (a little) for it to pass.

A 200 is what Evolution and Chatwoot wait for (and Chatwoot never retries a webhook that timed
out); processing can happen a moment later, since every accepted event is stored. Under a burst,
inbox lanes and outbox claims would otherwise take turns with every webhook on the one event loop,
the senders would see slow answers, and Evolution retries after its timeout, which adds load
exactly when there is too much. Only stored events count: echoes of the bridge's own messages are
acknowledged cheaply and are as frequent as the bridge's own output, so they must not stall it.
Steady traffic is not a burst: at a few hundred events a second nothing waits. The wait is
capped, so background work still moves while a burst never ends.
"""

from __future__ import annotations

import asyncio
import time


class WebhookPressure:
    def __init__(
        self, *, burst_per_s: float = 600.0, window_s: float = 0.05, max_wait_s: float = 1.0
    ) -> None:
        self.window_s = window_s
        self.max_wait_s = max_wait_s
        self._burst_count = max(2, round(burst_per_s * window_s))
        self._window_start = 0.0
        self._in_window = 0
        self._last_window = 0
        self.waits = 0  # background steps that waited for a burst

    def stored(self) -> None:
        """A webhook's event was stored (it will need processing)."""
        self._count(time.monotonic())

    def _count(self, now: float) -> None:
        if now - self._window_start >= self.window_s:
            # A window with no arrival in between means the previous one is not "last".
            recent = now - self._window_start < 2 * self.window_s
            self._last_window = self._in_window if recent else 0
            self._window_start, self._in_window = now, 0
        self._in_window += 1

    def in_burst(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._window_start >= 2 * self.window_s:
            return False  # nothing arrived for a whole window
        current = self._in_window if now - self._window_start < self.window_s else 0
        return max(current, self._last_window) >= self._burst_count

    async def give_way(self) -> None:
        """Wait while webhooks arrive faster than `burst_per_s`, `max_wait_s` at most."""
        if not self.in_burst():
            return
        self.waits += 1
        deadline = time.monotonic() + self.max_wait_s
        while self.in_burst() and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a rate)
            await asyncio.sleep(self.window_s)
