"""Typebot sessions of contacts and the WhatsApp message ids the bridge itself sent."""

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
            queued TEXT NOT NULL,
            phase_start_seq BIGINT NOT NULL,
            paused_until_ms BIGINT
        )"""
    )
    # Ids of messages the bridge sent, so their fromMe echoes are never taken for a human.
    await db.execute(
        """CREATE TABLE wa_sent_messages (
            wa_message_id TEXT PRIMARY KEY,
            contact_id BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
            sent_at_ms BIGINT NOT NULL
        )"""
    )
