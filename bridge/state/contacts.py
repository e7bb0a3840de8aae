"""Contact rows, transcripts, message links and transition history (SQL written once)."""

from __future__ import annotations

from typing import Final

from bridge.clock import Clock
from bridge.ids import (
    ContactKey,
    CwContactId,
    CwConversationId,
    CwInboxId,
    CwMessageId,
    InstanceName,
    TbSessionId,
    WaJid,
    WaMessageId,
)
from bridge.state.database import Database, Row
from bridge.state.records import (
    Contact,
    ContactState,
    Direction,
    MessageLink,
    TranscriptEntry,
    Transition,
)

CONTACT_COLUMNS: Final = (
    "id, instance, wa_jid, wa_phone_jid, wa_lid, state, department, cw_contact_id, "
    "cw_conversation_id, cw_inbox_id, tb_session_id, tb_session_at_ms, push_name, bot_paused, "
    "created_at_ms, updated_at_ms"
)
_TRANSCRIPT_COLUMNS: Final = (
    "id, contact_id, seq, direction, kind, body, media_url, wa_message_id, wa_timestamp_ms, "
    "created_at_ms"
)
_LINK_COLUMNS: Final = (
    "id, contact_id, wa_message_id, cw_message_id, cw_conversation_id, direction, created_at_ms"
)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def contact_from_row(row: Row) -> Contact:
    cw_contact = _opt_int(row["cw_contact_id"])
    cw_conversation = _opt_int(row["cw_conversation_id"])
    cw_inbox = _opt_int(row["cw_inbox_id"])
    return Contact(
        id=int(row["id"]),
        instance=InstanceName(row["instance"]),
        wa_jid=WaJid(row["wa_jid"]),
        wa_phone_jid=None if row["wa_phone_jid"] is None else WaJid(row["wa_phone_jid"]),
        wa_lid=None if row["wa_lid"] is None else WaJid(row["wa_lid"]),
        state=ContactState(row["state"]),
        department=row["department"],
        cw_contact_id=None if cw_contact is None else CwContactId(cw_contact),
        cw_conversation_id=None if cw_conversation is None else CwConversationId(cw_conversation),
        cw_inbox_id=None if cw_inbox is None else CwInboxId(cw_inbox),
        tb_session_id=None if row["tb_session_id"] is None else TbSessionId(row["tb_session_id"]),
        tb_session_at_ms=_opt_int(row["tb_session_at_ms"]),
        push_name=row["push_name"],
        bot_paused=bool(row["bot_paused"]),
        created_at_ms=int(row["created_at_ms"]),
        updated_at_ms=int(row["updated_at_ms"]),
    )


def _transcript_from_row(row: Row) -> TranscriptEntry:
    return TranscriptEntry(
        contact_id=int(row["contact_id"]),
        direction=Direction(row["direction"]),
        body=row["body"],
        kind=row["kind"],
        media_url=row["media_url"],
        wa_message_id=None if row["wa_message_id"] is None else WaMessageId(row["wa_message_id"]),
        wa_timestamp_ms=_opt_int(row["wa_timestamp_ms"]),
        seq=int(row["seq"]),
        id=int(row["id"]),
        created_at_ms=int(row["created_at_ms"]),
    )


def _link_from_row(row: Row) -> MessageLink:
    conversation = _opt_int(row["cw_conversation_id"])
    return MessageLink(
        wa_message_id=WaMessageId(row["wa_message_id"]),
        cw_message_id=CwMessageId(int(row["cw_message_id"])),
        direction=Direction(row["direction"]),
        contact_id=_opt_int(row["contact_id"]),
        cw_conversation_id=None if conversation is None else CwConversationId(conversation),
        id=int(row["id"]),
        created_at_ms=int(row["created_at_ms"]),
    )


class ContactStore:
    """Repository methods about contacts; mixed into SqlRepository."""

    _db: Database
    _clock: Clock

    async def get_contact(self, contact_id: int) -> Contact | None:
        row = await self._db.fetchrow(
            f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1",  # noqa: S608
            contact_id,
        )
        return None if row is None else contact_from_row(row)

    async def get_contact_by_alias(self, key: ContactKey) -> Contact | None:
        """The contact known under `key.wa_jid` (phone JID or LID) for that instance."""
        row = await self._db.fetchrow(
            f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ("  # noqa: S608
            "SELECT contact_id FROM contact_aliases WHERE instance = $1 AND jid = $2)",
            key.instance,
            key.wa_jid,
        )
        return None if row is None else contact_from_row(row)

    async def find_contact_by_conversation(
        self, cw_conversation_id: CwConversationId
    ) -> Contact | None:
        """The contact whose current Chatwoot conversation is `cw_conversation_id`."""
        row = await self._db.fetchrow(
            f"SELECT {CONTACT_COLUMNS} FROM contacts WHERE cw_conversation_id = $1"  # noqa: S608
            " ORDER BY updated_at_ms DESC LIMIT 1",
            cw_conversation_id,
        )
        return None if row is None else contact_from_row(row)

    async def save_contact(self, contact: Contact) -> None:
        """Write every mutable field (identity fields change only through resolve_contact)."""
        contact.updated_at_ms = self._clock.now_ms()
        await self._db.execute(
            "UPDATE contacts SET state = $2, department = $3, cw_contact_id = $4, "
            "cw_conversation_id = $5, cw_inbox_id = $6, tb_session_id = $7, "
            "tb_session_at_ms = $8, push_name = $9, bot_paused = $10, updated_at_ms = $11 "
            "WHERE id = $1",
            contact.id,
            contact.state.value,
            contact.department,
            contact.cw_contact_id,
            contact.cw_conversation_id,
            contact.cw_inbox_id,
            contact.tb_session_id,
            contact.tb_session_at_ms,
            contact.push_name,
            contact.bot_paused,
            contact.updated_at_ms,
        )

    async def append_transcript(self, entry: TranscriptEntry) -> TranscriptEntry:
        """Store `entry` as the contact's next message (seq = last + 1); call under its lock."""
        entry.created_at_ms = entry.created_at_ms or self._clock.now_ms()
        row = await self._db.fetchrow(
            "INSERT INTO transcripts (contact_id, seq, direction, kind, body, media_url, "
            "wa_message_id, wa_timestamp_ms, created_at_ms) VALUES ($1, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM transcripts WHERE contact_id = $1), "
            "$2, $3, $4, $5, $6, $7, $8) RETURNING id, seq",
            entry.contact_id,
            entry.direction.value,
            entry.kind,
            entry.body,
            entry.media_url,
            entry.wa_message_id,
            entry.wa_timestamp_ms,
            entry.created_at_ms,
        )
        assert row is not None
        entry.id, entry.seq = int(row["id"]), int(row["seq"])
        return entry

    async def list_transcript(self, contact_id: int) -> list[TranscriptEntry]:
        rows = await self._db.fetch(
            f"SELECT {_TRANSCRIPT_COLUMNS} FROM transcripts WHERE contact_id = $1"  # noqa: S608
            " ORDER BY seq",
            contact_id,
        )
        return [_transcript_from_row(row) for row in rows]

    async def link_message(self, link: MessageLink) -> bool:
        """Store the link; False when either message id is already linked (nothing changes)."""
        link.created_at_ms = link.created_at_ms or self._clock.now_ms()
        row = await self._db.fetchrow(
            "INSERT INTO message_links (contact_id, wa_message_id, cw_message_id, "
            "cw_conversation_id, direction, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT DO NOTHING RETURNING id",
            link.contact_id,
            link.wa_message_id,
            link.cw_message_id,
            link.cw_conversation_id,
            link.direction.value,
            link.created_at_ms,
        )
        if row is None:
            return False
        link.id = int(row["id"])
        return True

    async def find_link_by_wa(self, wa_message_id: WaMessageId) -> MessageLink | None:
        row = await self._db.fetchrow(
            f"SELECT {_LINK_COLUMNS} FROM message_links WHERE wa_message_id = $1",  # noqa: S608
            wa_message_id,
        )
        return None if row is None else _link_from_row(row)

    async def find_link_by_cw(self, cw_message_id: CwMessageId) -> MessageLink | None:
        row = await self._db.fetchrow(
            f"SELECT {_LINK_COLUMNS} FROM message_links WHERE cw_message_id = $1",  # noqa: S608
            cw_message_id,
        )
        return None if row is None else _link_from_row(row)

    async def record_transition(self, transition: Transition) -> Transition:
        transition.at_ms = transition.at_ms or self._clock.now_ms()
        transition.id = int(
            await self._db.fetchval(
                "INSERT INTO transitions (contact_id, from_state, to_state, fsm_trigger, reason, "
                "at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                transition.contact_id,
                transition.from_state.value,
                transition.to_state.value,
                transition.trigger,
                transition.reason,
                transition.at_ms,
            )
        )
        return transition

    async def list_transitions(self, contact_id: int, limit: int = 100) -> list[Transition]:
        """The contact's most recent transitions, oldest first."""
        rows = await self._db.fetch(
            "SELECT id, contact_id, from_state, to_state, fsm_trigger, reason, at_ms "
            "FROM transitions WHERE contact_id = $1 ORDER BY id DESC LIMIT $2",
            contact_id,
            limit,
        )
        return [
            Transition(
                contact_id=int(row["contact_id"]),
                from_state=ContactState(row["from_state"]),
                to_state=ContactState(row["to_state"]),
                trigger=row["fsm_trigger"],
                reason=row["reason"],
                at_ms=int(row["at_ms"]),
                id=int(row["id"]),
            )
            for row in reversed(rows)
        ]
