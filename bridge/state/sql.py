"""The few places where SQLite and PostgreSQL need different SQL, side by side."""

from __future__ import annotations

from bridge.state.database import Dialect

# PostgreSQL: the per-key lock is an advisory lock held until COMMIT/ROLLBACK (all replicas see
# it). SQLite has no equivalent; SqliteDatabase uses in-process KeyedLocks + BEGIN IMMEDIATE.
PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"


def pg_begin_locked_sql(name: str) -> str:
    """BEGIN and the lock of PG_LOCK_SQL as one simple query: one round trip instead of two.

    A simple query takes no parameters, so the name is a literal here, quoted the way
    PostgreSQL's quote_literal() does (E'' with doubled backslashes when it holds any, which is
    right whatever standard_conforming_strings says).
    """
    if "\x00" in name:
        raise ValueError("a lock name cannot hold a NUL character")
    literal = "'" + name.replace("'", "''") + "'"
    if "\\" in name:
        literal = "E" + literal.replace("\\", "\\\\")
    return f"BEGIN; SELECT pg_advisory_xact_lock(hashtextextended({literal}, 0))"


# Per-contact FIFO: an item is claimable when it is due (pending and available, or inflight with
# an expired lease) and no older pending/inflight item of the same contact exists. Delivered and
# dead items never block: a dead item is skipped (it waits in the dead-letter list), otherwise one
# poison message would silence that contact forever. Items without a contact are independent.
_CLAIM_DUE = """
UPDATE outbox
SET status = 'inflight', attempts = attempts + 1, leased_until_ms = $1 + $3,
    lease_owner = $4, updated_at_ms = $1
WHERE id IN (
    SELECT o.id FROM outbox o
    -- The redundant IN keeps the planner on the partial index of open items: without it the OR
    -- makes SQLite scan every delivered row ever stored.
    WHERE o.status IN ('pending', 'inflight')
      AND ((o.status = 'pending' AND o.available_at_ms <= $1)
           OR (o.status = 'inflight' AND o.leased_until_ms <= $1))
      AND (o.contact_id IS NULL OR NOT EXISTS (
          SELECT 1 FROM outbox p
          WHERE p.contact_id = o.contact_id AND p.id < o.id
            AND p.status IN ('pending', 'inflight')))
    ORDER BY o.available_at_ms, o.id
    LIMIT $2
    {row_locking}
)
RETURNING *
"""


def claim_due_sql(dialect: Dialect) -> str:
    """PostgreSQL skips rows another replica is claiming right now (FOR UPDATE SKIP LOCKED); the
    SQLite statement runs alone on the single writer connection, so it needs no row locking."""
    row_locking = "FOR UPDATE SKIP LOCKED" if dialect == "postgres" else ""
    return _CLAIM_DUE.format(row_locking=row_locking)


def id_column(dialect: Dialect) -> str:
    """An auto-increment primary key that never reuses ids (ids order events and outbox items)."""
    if dialect == "postgres":
        return "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
    return "INTEGER PRIMARY KEY AUTOINCREMENT"
