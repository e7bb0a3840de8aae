"""Waiting for what the stubs record: per-key change notifications instead of polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Watch:
    """`notify(key)` wakes everyone waiting on that key; waiters re-check their predicate."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def notify(self, key: str) -> None:
        event = self._events.pop(key, None)
        if event is not None:
            event.set()

    async def until(self, key: str, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """True once `predicate()` holds; False if it still does not after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event = self._events.setdefault(key, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True
