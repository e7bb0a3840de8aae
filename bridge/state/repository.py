"""The one storage interface of the bridge, and `open_repository(url)` choosing the backend."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Protocol

from bridge.clock import Clock, SystemClock
from bridge.errors import ConfigError
from bridge.ids import (
    ContactKey,
    CwConversationId,
    CwMessageId,
    InstanceName,
    WaJid,
    WaMessageId,
)
from bridge.state.database import Database, Dialect, LockKey
from bridge.state.identity import IdentityStore
from bridge.state.migrations import migrate
from bridge.state.outbox import OutboxStats, OutboxStore
from bridge.state.records import (
    Contact,
    DeadLetter,
    InboundEvent,
    MessageLink,
    OutboxItem,
    TranscriptEntry,
    Transition,
)


class Repository(Protocol):
    """Everything the bridge stores. Use per contact:

    async with repo.transaction(lock=contact.id):
        contact = await repo.get_contact(contact.id)   # read state only once locked
        transition = fire(contact, "triage", department="DTV")
        await repo.save_contact(contact)
        await repo.record_transition(transition)
        await repo.enqueue(item)
    """

    dialect: Dialect

    @property
    def database(self) -> Database:
        """The low-level database, for stores kept outside this interface (bot sessions, staff)."""
        ...

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def migrate(self) -> int: ...
    async def ping(self) -> None: ...
    def transaction(self, *, lock: LockKey | None = None) -> AbstractAsyncContextManager[None]: ...
    def grouped(self) -> AbstractAsyncContextManager[None]: ...

    async def resolve_contact(
        self,
        instance: InstanceName,
        phone_jid: WaJid | None,
        lid: WaJid | None,
        push_name: str | None = None,
    ) -> Contact: ...
    async def get_contact(self, contact_id: int) -> Contact | None: ...
    async def get_contact_by_alias(self, key: ContactKey) -> Contact | None: ...
    async def find_contact_by_conversation(
        self, cw_conversation_id: CwConversationId
    ) -> Contact | None: ...
    async def save_contact(self, contact: Contact) -> None: ...

    async def append_transcript(self, entry: TranscriptEntry) -> TranscriptEntry: ...
    async def list_transcript(self, contact_id: int) -> list[TranscriptEntry]: ...
    async def link_message(self, link: MessageLink) -> bool: ...
    async def find_link_by_wa(self, wa_message_id: WaMessageId) -> MessageLink | None: ...
    async def find_link_by_cw(self, cw_message_id: CwMessageId) -> MessageLink | None: ...
    async def record_transition(self, transition: Transition) -> Transition: ...
    async def list_transitions(self, contact_id: int, limit: int = 100) -> list[Transition]: ...

    async def record_inbound(self, event: InboundEvent) -> bool: ...
    async def get_inbound(self, event_id: int) -> InboundEvent | None: ...
    async def find_inbound(self, source: str, external_id: str) -> InboundEvent | None: ...
    async def assign_inbound(self, event_id: int, contact_id: int) -> None: ...
    async def next_inbound(self, contact_id: int | None) -> InboundEvent | None: ...
    async def has_pending_inbound(self, contact_id: int | None) -> bool: ...
    async def pending_inbound_contacts(self, limit: int) -> list[int | None]: ...
    async def mark_processed(self, event_id: int) -> None: ...
    async def mark_inbound_failed(self, event_id: int, error: str, max_attempts: int) -> bool: ...
    async def list_dead_inbound(self, limit: int) -> list[InboundEvent]: ...

    async def enqueue(self, item: OutboxItem) -> bool: ...
    async def get_outbox_item(self, item_id: int) -> OutboxItem | None: ...
    async def claim_due(
        self, now_ms: int, limit: int, lease_ms: int, worker_id: str
    ) -> list[OutboxItem]: ...
    async def mark_delivered(
        self,
        item_id: int,
        follow_up: InboundEvent | None = None,
        *,
        result: dict[str, object] | None = None,
    ) -> bool: ...
    async def reschedule(
        self, item_id: int, available_at_ms: int, error: str, *, refund_attempt: bool = False
    ) -> None: ...
    async def retry_now(self, item_ids: Sequence[int], now_ms: int) -> int: ...
    async def mark_dead(self, item_id: int, error: str) -> None: ...
    async def list_dead_letters(self, limit: int = 100) -> list[DeadLetter]: ...
    async def requeue_dead(self, item_id: int) -> bool: ...
    async def extend_lease(self, item_id: int, worker_id: str, until_ms: int) -> bool: ...
    async def release_leases(self) -> int: ...
    async def outbox_stats(self, now_ms: int) -> OutboxStats: ...


class SqlRepository(IdentityStore, OutboxStore):
    """The Repository over either Database backend: the SQL is the same, the backend differs."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()
        self.dialect: Dialect = db.dialect

    @property
    def database(self) -> Database:
        return self._db

    async def start(self) -> None:
        await self._db.start()

    async def close(self) -> None:
        await self._db.close()

    async def migrate(self) -> int:
        """Apply pending migrations; returns the schema version now in the database."""
        return await migrate(self._db)

    async def ping(self) -> None:
        """Raises StorageUnavailable when the database cannot answer."""
        await self._db.fetchval("SELECT 1")

    def transaction(self, *, lock: LockKey | None = None) -> AbstractAsyncContextManager[None]:
        return self._db.transaction(lock=lock)

    def grouped(self) -> AbstractAsyncContextManager[None]:
        return self._db.grouped()

    async def __aenter__(self) -> SqlRepository:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def open_repository(url: str, *, clock: Clock | None = None) -> SqlRepository:
    """A not-yet-started repository for `url` (`await repo.start()`, then `repo.migrate()`).

    `sqlite:///relative.db`, `sqlite:////absolute.db`, `sqlite://:memory:` → SQLite (one
    replica); `postgresql://…` or `postgres://…` → PostgreSQL (several replicas). Extra query
    parameters of a PostgreSQL URL become server settings (e.g. `?search_path=bridge`).
    """
    scheme = url.split(":", 1)[0].lower()
    db: Database
    if scheme == "sqlite":
        from bridge.state.sqlite import SqliteDatabase, sqlite_path

        try:
            db = SqliteDatabase(sqlite_path(url))
        except ValueError as exc:
            raise ConfigError(f"BRIDGE_DATABASE_URL: {exc}") from exc
    elif scheme in ("postgresql", "postgres"):
        from bridge.state.postgres import PostgresDatabase

        db = PostgresDatabase(url)
    else:
        raise ConfigError(
            f"BRIDGE_DATABASE_URL: unsupported scheme {scheme!r} (use sqlite:/// or postgresql://)"
        )
    return SqlRepository(db, clock)
