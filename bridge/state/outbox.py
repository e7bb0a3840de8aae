"""The transactional outbox: leases, per-contact FIFO claims, retries and dead letters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final, NamedTuple

from bridge.clock import Clock
from bridge.state.database import Database, Row
from bridge.state.inbox import InboxStore, dump_json
from bridge.state.records import DeadLetter, InboundEvent, OutboxItem, OutboxStatus
from bridge.state.sql import claim_due_sql

_COLUMNS: Final = (
    "id, kind, contact_id, dedupe_key, payload, status, attempts, available_at_ms, "
    "leased_until_ms, lease_owner, last_error, created_at_ms, updated_at_ms, delivered_at_ms, "
    "result"
)


class OutboxStats(NamedTuple):
    pending: int  # pending + inflight
    oldest_pending_age_ms: int  # 0 when nothing is pending


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _item_from_row(row: Row) -> OutboxItem:
    return OutboxItem(
        kind=row["kind"],
        dedupe_key=row["dedupe_key"],
        payload=json.loads(row["payload"]),
        contact_id=_opt_int(row["contact_id"]),
        status=OutboxStatus(row["status"]),
        attempts=int(row["attempts"]),
        available_at_ms=int(row["available_at_ms"]),
        leased_until_ms=_opt_int(row["leased_until_ms"]),
        lease_owner=row["lease_owner"],
        last_error=row["last_error"],
        created_at_ms=int(row["created_at_ms"]),
        updated_at_ms=int(row["updated_at_ms"]),
        delivered_at_ms=_opt_int(row["delivered_at_ms"]),
        result=None if row["result"] is None else json.loads(row["result"]),
        id=int(row["id"]),
    )


class OutboxStore(InboxStore):
    """Repository methods of the outbound side; mixed into SqlRepository.

    `attempts` counts claims, so a call that crashed the worker (lease expired) counts too.
    """

    _db: Database
    _clock: Clock

    async def enqueue(self, item: OutboxItem) -> bool:
        """Store `item` (its `id` is set); False when its `dedupe_key` already exists."""
        now = self._clock.now_ms()
        item.created_at_ms = item.created_at_ms or now
        item.updated_at_ms = now
        item.available_at_ms = item.available_at_ms or now
        row = await self._db.fetchrow(
            "INSERT INTO outbox (kind, contact_id, dedupe_key, payload, status, attempts, "
            "available_at_ms, created_at_ms, updated_at_ms) "
            "VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7) "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            item.kind,
            item.contact_id,
            item.dedupe_key,
            dump_json(item.payload),
            item.available_at_ms,
            item.created_at_ms,
            item.updated_at_ms,
        )
        if row is None:
            return False
        item.id = int(row["id"])
        item.status = OutboxStatus.PENDING
        return True

    async def get_outbox_item(self, item_id: int) -> OutboxItem | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM outbox WHERE id = $1",  # noqa: S608
            item_id,
        )
        return None if row is None else _item_from_row(row)

    async def claim_due(
        self, now_ms: int, limit: int, lease_ms: int, worker_id: str
    ) -> list[OutboxItem]:
        """Lease up to `limit` due items to `worker_id` until `now_ms + lease_ms`.

        Per contact only the oldest pending/inflight item is ever claimable (FIFO); items without
        a contact are independent; an item whose lease expired is claimable again.
        """
        async with self._db.transaction():
            rows = await self._db.fetch(
                claim_due_sql(self._db.dialect), now_ms, limit, lease_ms, worker_id
            )
        return sorted((_item_from_row(row) for row in rows), key=lambda i: i.id)

    async def mark_delivered(
        self,
        item_id: int,
        follow_up: InboundEvent | None = None,
        *,
        result: dict[str, object] | None = None,
    ) -> bool:
        """Mark the item delivered and store `follow_up` in the same transaction.

        False (and no follow-up) when the item was already delivered or is dead.
        """
        now = self._clock.now_ms()
        async with self._db.transaction():
            changed = await self._db.execute(
                "UPDATE outbox SET status = 'delivered', delivered_at_ms = $2, updated_at_ms = $2, "
                "leased_until_ms = NULL, result = $3 "
                "WHERE id = $1 AND status IN ('pending', 'inflight')",
                item_id,
                now,
                None if result is None else dump_json(result),
            )
            if changed and follow_up is not None:
                await self.record_inbound(follow_up)
        return changed > 0

    async def reschedule(
        self, item_id: int, available_at_ms: int, error: str, *, refund_attempt: bool = False
    ) -> None:
        """Release the lease; the item is due again at `available_at_ms` (still first in FIFO).
        `refund_attempt`: the failed call does not count towards the item's attempts."""
        await self._db.execute(
            "UPDATE outbox SET status = 'pending', available_at_ms = $2, last_error = $3, "
            "leased_until_ms = NULL, lease_owner = NULL, updated_at_ms = $4, "
            "attempts = CASE WHEN $5 AND attempts > 0 THEN attempts - 1 ELSE attempts END "
            "WHERE id = $1 AND status IN ('pending', 'inflight')",
            item_id,
            available_at_ms,
            error,
            self._clock.now_ms(),
            refund_attempt,
        )

    async def retry_now(self, item_ids: Sequence[int], now_ms: int) -> int:
        """These items, if still waiting out a backoff, are due now (their upstream answers
        again). Per-contact order is untouched: claims still take each contact's oldest open
        item first. Returns how many were brought forward."""
        count = 0
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start : start + 500]
            marks = ", ".join(f"${n}" for n in range(2, len(chunk) + 2))
            count += await self._db.execute(
                "UPDATE outbox SET available_at_ms = $1, updated_at_ms = $1 "  # noqa: S608
                f"WHERE status = 'pending' AND available_at_ms > $1 AND id IN ({marks})",
                now_ms,
                *chunk,
            )
        return count

    async def mark_dead(self, item_id: int, error: str) -> None:
        """Give up on the item; later items of its contact are no longer held back by it."""
        await self._db.execute(
            "UPDATE outbox SET status = 'dead', last_error = $2, leased_until_ms = NULL, "
            "updated_at_ms = $3 WHERE id = $1 AND status IN ('pending', 'inflight')",
            item_id,
            error,
            self._clock.now_ms(),
        )

    async def list_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = await self._db.fetch(
            "SELECT id, kind, dedupe_key, contact_id, payload, attempts, last_error, "
            "created_at_ms, updated_at_ms FROM outbox WHERE status = 'dead' "
            "ORDER BY id DESC LIMIT $1",
            limit,
        )
        return [
            DeadLetter(
                id=int(row["id"]),
                kind=row["kind"],
                dedupe_key=row["dedupe_key"],
                contact_id=_opt_int(row["contact_id"]),
                payload=json.loads(row["payload"]),
                attempts=int(row["attempts"]),
                last_error=row["last_error"],
                created_at_ms=int(row["created_at_ms"]),
                dead_at_ms=int(row["updated_at_ms"]),
            )
            for row in rows
        ]

    async def requeue_dead(self, item_id: int) -> bool:
        """Make a dead item pending again with fresh attempts; False if it is not dead.

        It keeps its place (id) in its contact's FIFO, so it is sent before that contact's
        still-pending later items.
        """
        now = self._clock.now_ms()
        changed = await self._db.execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, available_at_ms = $2, "
            "lease_owner = NULL, updated_at_ms = $2 WHERE id = $1 AND status = 'dead'",
            item_id,
            now,
        )
        return changed > 0

    async def extend_lease(self, item_id: int, worker_id: str, until_ms: int) -> bool:
        """Keep the item leased to `worker_id` until `until_ms` (a call longer than the lease)."""
        changed = await self._db.execute(
            "UPDATE outbox SET leased_until_ms = $3 "
            "WHERE id = $1 AND status = 'inflight' AND lease_owner = $2",
            item_id,
            worker_id,
            until_ms,
        )
        return changed > 0

    async def release_leases(self) -> int:
        """Make every inflight item claimable now; only for a database no other worker uses."""
        return await self._db.execute(
            "UPDATE outbox SET status = 'pending', leased_until_ms = NULL, lease_owner = NULL, "
            "updated_at_ms = $1 WHERE status = 'inflight'",
            self._clock.now_ms(),
        )

    async def outbox_stats(self, now_ms: int) -> OutboxStats:
        row = await self._db.fetchrow(
            "SELECT COUNT(*) AS pending, MIN(created_at_ms) AS oldest FROM outbox "
            "WHERE status IN ('pending', 'inflight')"
        )
        assert row is not None
        oldest = row["oldest"]
        age = 0 if oldest is None else max(0, now_ms - int(oldest))
        return OutboxStats(int(row["pending"]), age)
