"""Readiness: named checks that components register; `/readyz` runs them all."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    detail: str = ""


ReadinessCheck = Callable[[], Awaitable[CheckResult]]


@dataclass(slots=True)
class Readiness:
    """The checks behind `/readyz`; each component adds its own in its cleanup context."""

    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    timeout_s: float = 2.0

    def add(self, name: str, check: ReadinessCheck) -> None:
        self.checks[name] = check

    def remove(self, name: str) -> None:
        self.checks.pop(name, None)

    async def run(self) -> dict[str, CheckResult]:
        names = list(self.checks)
        results = await asyncio.gather(
            *(self._run_one(self.checks[name]) for name in names), return_exceptions=False
        )
        return dict(zip(names, results, strict=True))

    async def _run_one(self, check: ReadinessCheck) -> CheckResult:
        try:
            return await asyncio.wait_for(check(), self.timeout_s)
        except TimeoutError:
            return CheckResult(False, f"no answer within {self.timeout_s:g} s")
        except Exception as exc:  # a failing check means "not ready", never a 500
            return CheckResult(False, f"{type(exc).__name__}: {exc}")
