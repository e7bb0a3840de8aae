"""Append-only audit log of administrative actions: who, what, on whom, when, with what outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bridge.state.database import Database

ADMIN_TOKEN_ACTOR = "admin"  # noqa: S105 - an actor name: whoever held BRIDGE_ADMIN_TOKEN
SYSTEM_ACTOR = "system"  # the provisioning saga acting on an admin's behalf
MAX_DETAIL_CHARS = 2000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, Any]
    at_ms: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "detail": self.detail,
            "at_ms": self.at_ms,
        }


async def record_audit(
    db: Database,
    actor: str,
    action: str,
    target: str | None,
    outcome: str,
    detail: dict[str, Any] | str | None,
    now_ms: int,
) -> None:
    """Append one entry. Callers never put secrets (passwords, tokens, links) in `detail`."""
    if detail is None:
        text = None
    else:
        document = detail if isinstance(detail, dict) else {"message": detail}
        text = json.dumps(document, sort_keys=True, default=str)[:MAX_DETAIL_CHARS]
    await db.execute(
        "INSERT INTO audit_log (actor, action, target, outcome, detail, at_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        actor,
        action,
        target,
        outcome,
        text,
        now_ms,
    )


def _detail(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:  # truncated entry
        return {"message": text}
    return value if isinstance(value, dict) else {"message": value}


async def list_audit(
    db: Database, *, limit: int = 100, target: str | None = None, before_id: int | None = None
) -> list[AuditEntry]:
    """Newest first; `before_id` pages backwards."""
    # Optional filters are added as needed: a `$1 IS NULL` test would need a type cast,
    # which SQLite does not parse.
    conditions: list[str] = []
    args: list[Any] = []
    if target is not None:
        args.append(target)
        conditions.append(f"target = ${len(args)}")
    if before_id is not None:
        args.append(before_id)
        conditions.append(f"id < ${len(args)}")
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    args.append(limit)
    rows = await db.fetch(
        "SELECT id, actor, action, target, outcome, detail, at_ms FROM audit_log "  # noqa: S608
        f"{where}ORDER BY id DESC LIMIT ${len(args)}",
        *args,
    )
    return [
        AuditEntry(
            id=int(row["id"]),
            actor=row["actor"],
            action=row["action"],
            target=row["target"],
            outcome=row["outcome"],
            detail=_detail(row["detail"]),
            at_ms=int(row["at_ms"]),
        )
        for row in rows
    ]
