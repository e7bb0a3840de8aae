"""Typebot sessions of contacts: call in flight, pending choice input, queued customer turns."""

from __future__ import annotations

from bridge.state.database import Database, Dialect


async def upgrade(db: Database, dialect: Dialect) -> None:
    # ON DELETE CASCADE: when two contacts merge, the dropped contact's bot session goes with it.
    await db.execute(
        """CREATE TABLE bot_sessions (
            contact_id BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
            nonce TEXT NOT NULL,
            tb_session_id TEXT,
            started_at_ms BIGINT NOT NULL,
            last_activity_ms BIGINT NOT NULL,
            inflight BOOLEAN NOT NULL,
            pending_choices TEXT,
            queued TEXT NOT NULL
        )"""
    )
