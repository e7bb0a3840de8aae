"""SQLite backend (aiosqlite): one connection, WAL, BEGIN IMMEDIATE, in-process contact locks."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import aiosqlite

from bridge.errors import StorageUnavailable
from bridge.state.database import Database, LockKey, Row, lock_name
from bridge.state.locks import KeyedLocks
from bridge.state.priority import PriorityLock

log = logging.getLogger(__name__)

_POSITIONAL = re.compile(r"\$(\d+)")
# OperationalErrors that mean "the database cannot be used right now", not "the SQL is wrong".
_UNAVAILABLE = ("unable to open", "database is locked", "disk i/o", "readonly", "disk is full")
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def sqlite_path(url: str) -> str:
    """`sqlite:///rel.db` → `rel.db`, `sqlite:////abs.db` → `/abs.db`, `sqlite://:memory:`."""
    rest = url.removeprefix("sqlite:")
    if rest in ("//:memory:", "///:memory:", ":memory:"):
        return ":memory:"
    if not rest.startswith("///") or len(rest) == 3:
        raise ValueError(f"SQLite URL must look like sqlite:///path/to.db, got {url!r}")
    return rest[3:]


class SqliteDatabase(Database):
    """All work goes through one connection, so SQLite means one bridge process (one replica).

    SQLite has a single writer anyway; one connection also makes `:memory:` work. Transactions take
    the per-key lock first (in-process registry), then the connection, then BEGIN IMMEDIATE (which
    also excludes other processes, e.g. a concurrent `bridge migrate`). Nested transactions join
    the outer one and take no further key lock: the outer one already excludes every other writer.
    """

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.locks = KeyedLocks()
        self._conn: aiosqlite.Connection | None = None
        self._conn_lock = PriorityLock()
        self._in_txn: ContextVar[bool] = ContextVar(f"bridge_sqlite_txn_{id(self)}", default=False)

    async def start(self) -> None:
        if self._conn is not None:
            return
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"cannot open SQLite database: {exc}") from exc
        conn.row_factory = sqlite3.Row
        for pragma in PRAGMAS:
            await conn.execute(pragma)
        self._conn = conn
        log.info("sqlite database opened path=%s", self.path)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StorageUnavailable("SQLite database is not open")
        return self._conn

    def transaction(self, *, lock: LockKey | None = None) -> AbstractAsyncContextManager[None]:
        return self._transaction(lock)

    @asynccontextmanager
    async def _transaction(self, lock: LockKey | None) -> AsyncIterator[None]:
        if self._in_txn.get():
            yield
            return
        if lock is None:
            async with self._exclusive_transaction():
                yield
            return
        async with self.locks.hold(lock_name(lock)), self._exclusive_transaction():
            yield

    @asynccontextmanager
    async def _exclusive_transaction(self) -> AsyncIterator[None]:
        async with self._conn_lock:
            conn = self._connection()
            await self._run(conn, "BEGIN IMMEDIATE", ())
            token = self._in_txn.set(True)
            try:
                yield
            except BaseException:
                self._in_txn.reset(token)
                await _rollback(conn)
                raise
            self._in_txn.reset(token)
            try:
                await self._run(conn, "COMMIT", ())
            except BaseException:
                await _rollback(conn)  # never leave the shared connection inside a transaction
                raise

    @staticmethod
    @asynccontextmanager
    async def _translated() -> AsyncIterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if str(exc).lower().startswith(_UNAVAILABLE):
                raise StorageUnavailable(f"SQLite database unavailable: {exc}") from exc
            raise

    async def _run(self, conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...]) -> int:
        # One thread hop per statement: the cursor is not closed explicitly (closing costs
        # another hop); sqlite3 finalises it when it is garbage-collected.
        async with self._translated():
            cursor = await conn.execute(_POSITIONAL.sub(r"?\1", sql), args)
        return int(cursor.rowcount)

    async def _run_fetch(
        self, conn: aiosqlite.Connection, sql: str, args: tuple[Any, ...]
    ) -> list[Row]:
        async with self._translated():
            rows = await conn.execute_fetchall(_POSITIONAL.sub(r"?\1", sql), args)
        return list(rows)

    async def execute(self, sql: str, *args: Any) -> int:
        conn = self._connection()
        if self._in_txn.get():
            return await self._run(conn, sql, args)
        async with self._conn_lock:
            return await self._run(conn, sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        conn = self._connection()
        if self._in_txn.get():
            return await self._run_fetch(conn, sql, args)
        async with self._conn_lock:
            return await self._run_fetch(conn, sql, args)


async def _rollback(conn: aiosqlite.Connection) -> None:
    # A failed rollback must not hide the error that caused it.
    try:
        await conn.rollback()
    except sqlite3.Error:
        log.warning("sqlite rollback failed", exc_info=True)
