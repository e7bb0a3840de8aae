"""Storage of a contact's Typebot session (one row per contact; read under the contact lock)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bridge.state.database import Database


@dataclass(slots=True)
class QueuedTurn:
    """A customer message waiting for the Typebot call in flight to finish."""

    text: str
    reply_id: str | None
    wa_message_id: str


@dataclass(slots=True)
class BotSession:
    contact_id: int
    nonce: str  # part of the opaque `bridge_contact` Typebot echoes in the handoff callback
    started_at_ms: int
    last_activity_ms: int
    tb_session_id: str | None = None
    inflight: bool = False
    pending_choices: list[dict[str, str]] | None = None  # [{"id", "content"}] of the open input
    queued: list[QueuedTurn] = field(default_factory=list)
    phase_start_seq: int = 1  # first transcript seq of this bot phase (posted at handoff)
    paused_until_ms: int | None = None  # a human wrote from the business phone


_COLUMNS = (
    "contact_id, nonce, tb_session_id, started_at_ms, last_activity_ms, inflight, "
    "pending_choices, queued, phase_start_seq, paused_until_ms"
)


def _from_row(row: Any) -> BotSession:
    choices = row["pending_choices"]
    return BotSession(
        contact_id=int(row["contact_id"]),
        nonce=row["nonce"],
        tb_session_id=row["tb_session_id"],
        started_at_ms=int(row["started_at_ms"]),
        last_activity_ms=int(row["last_activity_ms"]),
        inflight=bool(row["inflight"]),
        pending_choices=json.loads(choices) if choices else None,
        queued=[QueuedTurn(**turn) for turn in json.loads(row["queued"])],
        phase_start_seq=int(row["phase_start_seq"]),
        paused_until_ms=row["paused_until_ms"],
    )


async def get_bot_session(db: Database, contact_id: int) -> BotSession | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM bot_sessions WHERE contact_id = $1",  # noqa: S608
        contact_id,
    )
    return _from_row(row) if row is not None else None


async def save_bot_session(db: Database, session: BotSession) -> None:
    choices = json.dumps(session.pending_choices) if session.pending_choices is not None else None
    queued = json.dumps(
        [
            {"text": t.text, "reply_id": t.reply_id, "wa_message_id": t.wa_message_id}
            for t in session.queued
        ]
    )
    await db.execute(
        f"""INSERT INTO bot_sessions ({_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (contact_id) DO UPDATE SET nonce = $2, tb_session_id = $3,
              started_at_ms = $4, last_activity_ms = $5, inflight = $6,
              pending_choices = $7, queued = $8, phase_start_seq = $9,
              paused_until_ms = $10""",  # noqa: S608
        session.contact_id,
        session.nonce,
        session.tb_session_id,
        session.started_at_ms,
        session.last_activity_ms,
        session.inflight,
        choices,
        queued,
        session.phase_start_seq,
        session.paused_until_ms,
    )


async def delete_bot_session(db: Database, contact_id: int) -> None:
    await db.execute("DELETE FROM bot_sessions WHERE contact_id = $1", contact_id)


async def record_sent(
    db: Database, wa_message_id: str, contact_id: int | None, now_ms: int
) -> None:
    await db.execute(
        """INSERT INTO wa_sent_messages (wa_message_id, contact_id, sent_at_ms)
           VALUES ($1, $2, $3) ON CONFLICT (wa_message_id) DO NOTHING""",
        wa_message_id,
        contact_id,
        now_ms,
    )


async def was_sent_by_bridge(db: Database, wa_message_id: str) -> bool:
    row = await db.fetchrow(
        "SELECT 1 FROM wa_sent_messages WHERE wa_message_id = $1", wa_message_id
    )
    return row is not None
