"""Test doubles shared across the suite."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.state import SqlRepository


class FakeClock:
    """Deterministic epoch-ms clock; tests move it with `advance`."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


OpenRepo = Callable[[], Awaitable[SqlRepository]]
