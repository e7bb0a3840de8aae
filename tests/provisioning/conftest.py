"""Shared fixtures for the provisioning building-block tests."""

from __future__ import annotations

import pytest


class FakeClock:
    """A Clock whose time only moves when a test says so."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
