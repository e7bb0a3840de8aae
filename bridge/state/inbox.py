"""Inbound events: every webhook stored once (deduplicated) before it is acknowledged."""

from __future__ import annotations

import json
from typing import Any, Final

from bridge.clock import Clock
from bridge.state.database import Database, Row
from bridge.state.records import InboundEvent, InboundStatus

_COLUMNS: Final = (
    "id, source, external_id, contact_id, kind, payload, status, attempts, error, "
    "received_at_ms, processed_at_ms"
)
_INSERT: Final = (
    "INSERT INTO inbound_event (source, external_id, contact_id, kind, payload, status, "
    "attempts, received_at_ms) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6) "
    "ON CONFLICT (source, external_id) DO NOTHING RETURNING id"
)


def dump_json(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate (an escaped "\ud83d" in a webhook) is not
        return json.dumps(value, separators=(",", ":"))  # storable as UTF-8: keep it escaped
    return text


def _event_from_row(row: Row) -> InboundEvent:
    return InboundEvent(
        source=row["source"],
        external_id=row["external_id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        contact_id=None if row["contact_id"] is None else int(row["contact_id"]),
        status=InboundStatus(row["status"]),
        attempts=int(row["attempts"]),
        error=row["error"],
        received_at_ms=int(row["received_at_ms"]),
        processed_at_ms=None if row["processed_at_ms"] is None else int(row["processed_at_ms"]),
        id=int(row["id"]),
    )


class InboxStore:
    """Repository methods of the inbound side; mixed into SqlRepository."""

    _db: Database
    _clock: Clock

    async def record_inbound(self, event: InboundEvent) -> bool:
        """Store `event` (its `id` is set); False when (source, external_id) is already stored."""
        event.received_at_ms = event.received_at_ms or self._clock.now_ms()
        row = await self._db.fetchrow(
            _INSERT,
            event.source,
            event.external_id,
            event.contact_id,
            event.kind,
            event.payload_json or dump_json(event.payload),
            event.received_at_ms,
        )
        if row is None:
            return False
        event.id = int(row["id"])
        event.status = InboundStatus.PENDING
        return True

    async def get_inbound(self, event_id: int) -> InboundEvent | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM inbound_event WHERE id = $1",  # noqa: S608
            event_id,
        )
        return None if row is None else _event_from_row(row)

    async def find_inbound(self, source: str, external_id: str) -> InboundEvent | None:
        """The stored event with that dedupe key (to route a duplicate delivery)."""
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM inbound_event "  # noqa: S608
            "WHERE source = $1 AND external_id = $2",
            source,
            external_id,
        )
        return None if row is None else _event_from_row(row)

    async def assign_inbound(self, event_id: int, contact_id: int) -> None:
        """Attach a stored event to the contact it turned out to belong to."""
        await self._db.execute(
            "UPDATE inbound_event SET contact_id = $2 WHERE id = $1", event_id, contact_id
        )

    async def next_inbound(self, contact_id: int | None) -> InboundEvent | None:
        """Oldest pending event of the contact (None: of events without a contact).

        Dead events are skipped: one poison event must not block its contact forever.
        """
        where = "contact_id IS NULL" if contact_id is None else "contact_id = $1"
        args = () if contact_id is None else (contact_id,)
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM inbound_event "  # noqa: S608
            f"WHERE {where} AND status = 'pending' ORDER BY id LIMIT 1",
            *args,
        )
        return None if row is None else _event_from_row(row)

    async def has_pending_inbound(self, contact_id: int | None) -> bool:
        where = "contact_id IS NULL" if contact_id is None else "contact_id = $1"
        args = () if contact_id is None else (contact_id,)
        row = await self._db.fetchrow(
            f"SELECT 1 FROM inbound_event WHERE {where} AND status = 'pending' LIMIT 1",  # noqa: S608
            *args,
        )
        return row is not None

    async def pending_inbound_contacts(self, limit: int) -> list[int | None]:
        """Contacts with pending events, the longest-waiting first (None = contactless events)."""
        rows = await self._db.fetch(
            "SELECT contact_id, MIN(id) AS oldest FROM inbound_event WHERE status = 'pending' "
            "GROUP BY contact_id ORDER BY oldest LIMIT $1",
            limit,
        )
        return [None if row["contact_id"] is None else int(row["contact_id"]) for row in rows]

    async def mark_processed(self, event_id: int) -> None:
        await self._db.execute(
            "UPDATE inbound_event SET status = 'processed', processed_at_ms = $2, error = NULL "
            "WHERE id = $1",
            event_id,
            self._clock.now_ms(),
        )

    async def mark_inbound_failed(self, event_id: int, error: str, max_attempts: int) -> bool:
        """Count a failed attempt; after `max_attempts` the event is dead. True when it died."""
        row = await self._db.fetchrow(
            "UPDATE inbound_event SET attempts = attempts + 1, error = $2, "
            "status = CASE WHEN attempts + 1 >= $3 THEN 'dead' ELSE status END "
            "WHERE id = $1 AND status = 'pending' RETURNING status",
            event_id,
            error,
            max_attempts,
        )
        return row is not None and row["status"] == InboundStatus.DEAD.value

    async def list_dead_inbound(self, limit: int) -> list[InboundEvent]:
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM inbound_event WHERE status = 'dead' "  # noqa: S608
            "ORDER BY id DESC LIMIT $1",
            limit,
        )
        return [_event_from_row(row) for row in rows]
