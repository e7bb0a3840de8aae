"""The demo's readable report: one row per checklist step, PASS or FAIL with its evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Row:
    step: str
    passed: bool
    evidence: list[str] = field(default_factory=list)


@dataclass
class Report:
    out: TextIO
    rows: list[Row] = field(default_factory=list)

    def section(self, title: str) -> None:
        print(f"\n== {title}", file=self.out, flush=True)

    def record(self, step: str, passed: bool, *evidence: str) -> bool:
        self.rows.append(Row(step, passed, list(evidence)))
        print(f"{'PASS' if passed else 'FAIL'} {step}", file=self.out, flush=True)
        for line in evidence:
            print(f"     {line}", file=self.out, flush=True)
        return passed

    @property
    def all_passed(self) -> bool:
        return bool(self.rows) and all(row.passed for row in self.rows)

    def summary(self) -> None:
        passed = sum(row.passed for row in self.rows)
        print(f"\n{passed} passed, {len(self.rows) - passed} failed", file=self.out, flush=True)
