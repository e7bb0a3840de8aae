"""The reconciliation plan: one Action per owned object (create/update/keep) and its table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

ActionKind = Literal["create", "update", "keep"]
Apply = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Action:
    """What setup found for one object and, unless `keep`, the change that fixes it.

    `detail` is shown to the operator: it names what differs, never a secret value.
    """

    system: str
    kind: ActionKind
    target: str
    detail: str
    apply: Apply | None = None

    @property
    def changes(self) -> bool:
        return self.kind != "keep"


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)

    def keep(self, system: str, target: str, detail: str) -> None:
        self.actions.append(Action(system, "keep", target, detail))

    def change(
        self, kind: Literal["create", "update"], system: str, target: str, detail: str, apply: Apply
    ) -> None:
        self.actions.append(Action(system, kind, target, detail, apply))

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.changes]

    async def execute(self) -> int:
        """Apply the changes in plan order (later actions may use ids earlier ones created)."""
        for action in self.changes:
            if action.apply is not None:
                await action.apply()
        return len(self.changes)


def render_table(plan: Plan) -> str:
    """Fixed-width table: action, system, target, detail."""
    header = ("ACTION", "SYSTEM", "TARGET", "DETAIL")
    rows = [(a.kind, a.system, a.target, a.detail) for a in plan.actions]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(3)]
    lines = []
    for row in (header, *rows):
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    return "\n".join(lines)


def summary(plan: Plan, *, dry_run: bool) -> str:
    count = len(plan.changes)
    if count == 0:
        return "nothing to do: everything is already as configured"
    verb = "would change" if dry_run else "changed"
    return f"{verb} {count} object(s); {len(plan.actions) - count} already as configured"
