"""Checking what arrived at the stubs against what should have: lost, duplicated, out of order."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass
class Integrity:
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    unexpected: int = 0

    def add(self, other: Integrity) -> None:
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.out_of_order += other.out_of_order
        self.unexpected += other.unexpected

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order or self.unexpected)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _longest_increasing(values: Sequence[int]) -> int:
    tails: list[int] = []
    for value in values:
        at = bisect.bisect_left(tails, value)
        if at == len(tails):
            tails.append(value)
        else:
            tails[at] = value
    return len(tails)


def compare(expected: Sequence[str], actual: Sequence[str]) -> Integrity:
    """Expected items are distinct; out of order counts items outside the longest in-order run."""
    counts = Counter(actual)
    wanted = set(expected)
    first: dict[str, int] = {}
    for position, item in enumerate(actual):
        first.setdefault(item, position)
    present = [first[e] for e in expected if e in first]
    return Integrity(
        lost=sum(1 for e in expected if e not in counts),
        duplicated=sum(counts[e] - 1 for e in expected if counts[e] > 1),
        out_of_order=len(present) - _longest_increasing(present),
        unexpected=sum(n for item, n in counts.items() if item not in wanted),
    )


def order_violations(spans: Sequence[tuple[float, float]], positions: Sequence[int]) -> int:
    """Messages that arrived before one whose webhook was answered before theirs was sent.

    Only non-overlapping requests have an order to keep: two webhooks in flight at once may be
    committed either way round, exactly as two concurrent deliveries from Evolution would be.
    """
    violations = 0
    for b, (b_sent, _) in enumerate(spans):
        if any(
            a_done < b_sent and positions[a] > positions[b]
            for a, (_, a_done) in enumerate(spans)
            if a != b
        ):
            violations += 1
    return violations
