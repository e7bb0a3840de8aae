"""Contacts, aliases, transcripts, message links, transitions, inbound events and the outbox."""

from __future__ import annotations

from bridge.state.database import Database, Dialect
from bridge.state.sql import id_column


def _statements(pk: str) -> list[str]:
    return [
        f"""CREATE TABLE contacts (
            id {pk},
            instance TEXT NOT NULL,
            wa_jid TEXT NOT NULL,
            wa_phone_jid TEXT,
            wa_lid TEXT,
            state TEXT NOT NULL
                CHECK (state IN ('bot_handled', 'triaged', 'agent_handled')),
            department TEXT,
            cw_contact_id BIGINT,
            cw_conversation_id BIGINT,
            cw_inbox_id BIGINT,
            tb_session_id TEXT,
            tb_session_at_ms BIGINT,
            push_name TEXT,
            bot_paused BOOLEAN NOT NULL DEFAULT FALSE,
            created_at_ms BIGINT NOT NULL,
            updated_at_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX contacts_cw_conversation ON contacts (cw_conversation_id)",
        """CREATE TABLE contact_aliases (
            instance TEXT NOT NULL,
            jid TEXT NOT NULL,
            contact_id BIGINT NOT NULL REFERENCES contacts (id),
            created_at_ms BIGINT NOT NULL,
            PRIMARY KEY (instance, jid)
        )""",
        "CREATE INDEX contact_aliases_contact ON contact_aliases (contact_id)",
        f"""CREATE TABLE transcripts (
            id {pk},
            contact_id BIGINT NOT NULL REFERENCES contacts (id),
            seq BIGINT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
            kind TEXT NOT NULL,
            body TEXT NOT NULL,
            media_url TEXT,
            wa_message_id TEXT,
            wa_timestamp_ms BIGINT,
            created_at_ms BIGINT NOT NULL,
            UNIQUE (contact_id, seq)
        )""",
        f"""CREATE TABLE message_links (
            id {pk},
            contact_id BIGINT REFERENCES contacts (id),
            wa_message_id TEXT NOT NULL UNIQUE,
            cw_message_id BIGINT NOT NULL UNIQUE,
            cw_conversation_id BIGINT,
            direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
            created_at_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX message_links_contact ON message_links (contact_id)",
        f"""CREATE TABLE transitions (
            id {pk},
            contact_id BIGINT NOT NULL REFERENCES contacts (id),
            from_state TEXT NOT NULL,
            to_state TEXT NOT NULL,
            fsm_trigger TEXT NOT NULL,
            reason TEXT NOT NULL,
            at_ms BIGINT NOT NULL
        )""",
        "CREATE INDEX transitions_contact ON transitions (contact_id, id)",
        f"""CREATE TABLE inbound_event (
            id {pk},
            source TEXT NOT NULL,
            external_id TEXT NOT NULL,
            contact_id BIGINT REFERENCES contacts (id),
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            received_at_ms BIGINT NOT NULL,
            processed_at_ms BIGINT,
            UNIQUE (source, external_id)
        )""",
        """CREATE INDEX inbound_event_pending ON inbound_event (contact_id, id)
            WHERE status = 'pending'""",
        f"""CREATE TABLE outbox (
            id {pk},
            kind TEXT NOT NULL,
            contact_id BIGINT REFERENCES contacts (id),
            dedupe_key TEXT NOT NULL UNIQUE,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'inflight', 'delivered', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            available_at_ms BIGINT NOT NULL,
            leased_until_ms BIGINT,
            lease_owner TEXT,
            last_error TEXT,
            created_at_ms BIGINT NOT NULL,
            updated_at_ms BIGINT NOT NULL,
            delivered_at_ms BIGINT,
            result TEXT
        )""",
        """CREATE INDEX outbox_open_by_contact ON outbox (contact_id, id)
            WHERE status IN ('pending', 'inflight')""",
        """CREATE INDEX outbox_open_by_due ON outbox (available_at_ms, id)
            WHERE status IN ('pending', 'inflight')""",
        "CREATE INDEX outbox_dead ON outbox (id) WHERE status = 'dead'",
    ]


async def upgrade(db: Database, dialect: Dialect) -> None:
    for statement in _statements(id_column(dialect)):
        await db.execute(statement)
