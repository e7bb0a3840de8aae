"""Capped exponential backoff with full jitter, honouring an upstream's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    base_ms: int = 1_000
    cap_ms: int = 5 * 60_000
    max_attempts: int = 12

    def next_delay_ms(
        self, attempt: int, retry_after_s: float | None = None, rng: random.Random | None = None
    ) -> int:
        """Delay before try `attempt + 1` (attempt counts from 1 after the first failure)."""
        ceiling = min(self.cap_ms, self.base_ms * 2 ** max(0, attempt - 1))
        delay = (rng or random).uniform(0, ceiling)
        if retry_after_s is not None:
            # The upstream said when; never earlier, and never beyond our own cap.
            delay = max(delay, min(retry_after_s * 1000, self.cap_ms))
        return int(delay)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
