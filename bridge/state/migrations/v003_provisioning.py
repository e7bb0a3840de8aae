"""Employees and their provisioning steps, invites, staff sessions and the admin audit log."""

from __future__ import annotations

from bridge.state.database import Database, Dialect
from bridge.state.sql import id_column


def _statements(pk: str) -> list[str]:
    return [
        # Rows are never deleted: the primary key keeps a username reserved for good, so a
        # disabled employee's address is never handed to someone else.
        """CREATE TABLE employees (
            username TEXT PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            personal_email TEXT NOT NULL,
            department TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('agent', 'administrator')),
            phone TEXT,
            status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'failed', 'disabled')),
            cw_user_id BIGINT,
            error TEXT,
            idempotency_key TEXT UNIQUE,
            request_fingerprint TEXT,
            saga_marker TEXT NOT NULL,
            queued_round INTEGER NOT NULL,
            ran_round INTEGER NOT NULL,
            created_at_ms BIGINT NOT NULL,
            updated_at_ms BIGINT NOT NULL
        )""",
        """CREATE TABLE employee_steps (
            username TEXT NOT NULL REFERENCES employees (username),
            step TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('done', 'pending', 'failed')),
            detail TEXT,
            updated_at_ms BIGINT NOT NULL,
            PRIMARY KEY (username, step)
        )""",
        """CREATE TABLE invites (
            token_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES employees (username),
            expires_at_ms BIGINT NOT NULL,
            used_at_ms BIGINT,
            revoked_at_ms BIGINT,
            created_at_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX invites_username ON invites (username)",
        """CREATE TABLE staff_sessions (
            session_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES employees (username),
            created_at_ms BIGINT NOT NULL,
            expires_at_ms BIGINT NOT NULL,
            revoked_at_ms BIGINT
        )""",
        "CREATE INDEX staff_sessions_username ON staff_sessions (username)",
        f"""CREATE TABLE audit_log (
            id {pk},
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            outcome TEXT NOT NULL,
            detail TEXT,
            at_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX audit_log_target ON audit_log (target)",
    ]


async def upgrade(db: Database, dialect: Dialect) -> None:
    for statement in _statements(id_column(dialect)):
        await db.execute(statement)
