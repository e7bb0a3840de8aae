"""The connection layer both backends implement: `$n` SQL in, rows out, locked transactions."""

from __future__ import annotations

import contextlib
import re
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

from bridge.ids import ContactKey

Dialect = Literal["sqlite", "postgres"]
LockKey = int | str | ContactKey

_COMMAND_COUNT = re.compile(r"(\d+)$")


class Row(Protocol):
    """What both `sqlite3.Row` and `asyncpg.Record` offer: access by column name."""

    def __getitem__(self, key: str | int, /) -> Any: ...


def lock_name(key: LockKey) -> str:
    """One namespace for every lock: contact ids, contact keys and named locks never collide."""
    if isinstance(key, ContactKey):
        return f"jid:{key}"
    if isinstance(key, int):
        return f"contact:{key}"
    return f"name:{key}"


def affected_rows(status: str) -> int:
    """Row count of an asyncpg command tag such as 'UPDATE 3' or 'INSERT 0 1'."""
    match = _COMMAND_COUNT.search(status)
    return int(match.group(1)) if match else 0


class Database(ABC):
    """Shared surface of SqliteDatabase and PostgresDatabase.

    Inside `async with db.transaction(lock=...)` every call of the same task uses the
    transaction's connection (a per-instance ContextVar); outside, each call autocommits.
    Nested `transaction()` calls join the outer transaction.
    """

    dialect: Dialect

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self, *, lock: LockKey | None = None) -> AbstractAsyncContextManager[None]:
        """Open (or join) a transaction; with `lock`, hold that key's lock until it ends."""

    def grouped(self) -> AbstractAsyncContextManager[None]:
        """Statements that may share one commit where a commit is the expensive part (SQLite).

        Not a promise of atomicity: on PostgreSQL each statement still commits on its own
        (one round trip each, no BEGIN/COMMIT added).
        """
        return contextlib.nullcontext()

    def holds_write_lock(self) -> bool:
        """True when this task is inside a transaction that already excludes every other writer
        (SQLite's BEGIN IMMEDIATE): what it has read cannot change until it commits."""
        return False

    @abstractmethod
    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of affected rows."""

    @abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else _first(row)


def _first(row: Row) -> Any:
    return row[0]
