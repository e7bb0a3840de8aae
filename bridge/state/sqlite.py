"""SQLite backend: one connection used on the event-loop thread, WAL, BEGIN IMMEDIATE.

Statements run synchronously on the loop thread. On a local WAL database a statement takes tens
of microseconds, far less than handing it to a worker thread and waking the loop again (which is
what aiosqlite does per statement, and what made a flow step cost milliseconds under load). The
two things that could block the loop for long are kept off it: waiting for another process's
write lock is an asynchronous retry (busy_timeout is 0), and WAL checkpoints (the only fsyncs
with synchronous=NORMAL) run on a second connection in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import time
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from bridge.errors import StorageUnavailable
from bridge.state.database import Database, LockKey, Row, lock_name
from bridge.state.locks import KeyedLocks
from bridge.state.priority import PriorityLock
from bridge.state.sqlite_checkpoint import Checkpointer
from bridge.state.sqlite_group import GroupCommits

log = logging.getLogger(__name__)

_POSITIONAL = re.compile(r"\$(\d+)")
# OperationalErrors that mean "the database cannot be used right now", not "the SQL is wrong".
_UNAVAILABLE = ("unable to open", "database is locked", "disk i/o", "readonly", "disk is full")
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # Never wait inside SQLite: that would block the event loop. `_busy_retry` waits instead.
    "PRAGMA busy_timeout=0",
    # The checkpoint thread keeps the WAL short; this is only the safety net if it stalls.
    "PRAGMA wal_autocheckpoint=10000",
)
# How long a statement waits for another process's write lock (e.g. `bridge migrate`).
BUSY_WAIT_S = 5.0


@lru_cache(maxsize=512)
def _qmark(sql: str) -> str:
    """`$1` placeholders (shared with asyncpg) → SQLite's `?1`; cached, the SQL is constant."""
    return _POSITIONAL.sub(r"?\1", sql)


def sqlite_path(url: str) -> str:
    """`sqlite:///rel.db` → `rel.db`, `sqlite:////abs.db` → `/abs.db`, `sqlite://:memory:`."""
    rest = url.removeprefix("sqlite:")
    if rest in ("//:memory:", "///:memory:", ":memory:"):
        return ":memory:"
    if not rest.startswith("///") or len(rest) == 3:
        raise ValueError(f"SQLite URL must look like sqlite:///path/to.db, got {url!r}")
    return rest[3:]


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES


def _unavailable(exc: sqlite3.OperationalError) -> bool:
    return _is_busy(exc) or str(exc).lower().startswith(_UNAVAILABLE)


class SqliteDatabase(Database):
    """All work goes through one connection, so SQLite means one bridge process (one replica).

    SQLite has a single writer anyway; one connection also makes `:memory:` work. Transactions take
    the per-key lock first (in-process registry), then the connection, then BEGIN IMMEDIATE (which
    also excludes other processes, e.g. a concurrent `bridge migrate`). Nested transactions join
    the outer one and take no further key lock: the outer one already excludes every other writer.
    """

    dialect = "sqlite"

    def __init__(self, path: str, *, busy_wait_s: float = BUSY_WAIT_S) -> None:
        self.path = path
        self.locks = KeyedLocks()
        self.busy_wait_s = busy_wait_s
        self._conn: sqlite3.Connection | None = None
        self._conn_lock = PriorityLock()
        self._in_txn: ContextVar[bool] = ContextVar(f"bridge_sqlite_txn_{id(self)}", default=False)
        self._checkpointer: Checkpointer | None = None
        self._groups = GroupCommits(self._conn_lock, self._connection)

    async def start(self) -> None:
        if self._conn is not None:
            return
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, cached_statements=256)
        except (sqlite3.Error, OSError) as exc:
            raise StorageUnavailable(f"cannot open SQLite database: {exc}") from exc
        conn.row_factory = sqlite3.Row
        self._conn = conn
        try:
            for pragma in PRAGMAS:
                await self._run(conn, pragma, ())
        except BaseException:
            self._conn = None
            conn.close()
            raise
        if self.path != ":memory:":
            self._checkpointer = Checkpointer(self.path, conn)
            self._checkpointer.start()
        log.info("sqlite database opened path=%s", self.path)

    async def close(self) -> None:
        await self._groups.drain()  # the open group commits before the connection closes
        if self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            await checkpointer.stop()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageUnavailable("SQLite database is not open")
        return self._conn

    def transaction(self, *, lock: LockKey | None = None) -> AbstractAsyncContextManager[None]:
        return _Transaction(self, None if lock is None else lock_name(lock))

    def holds_write_lock(self) -> bool:
        return self._in_txn.get()

    def grouped(self) -> AbstractAsyncContextManager[None]:
        # One commit instead of one per statement; nothing suspends inside, so the shared
        # connection is held for microseconds.
        return _Transaction(self, None)

    async def _run(self, conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]) -> int:
        cursor = await self._cursor(conn, sql, args)
        return int(cursor.rowcount)

    async def _run_fetch(
        self, conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]
    ) -> list[Row]:
        cursor = await self._cursor(conn, sql, args)
        try:
            return list(cursor.fetchall())
        except sqlite3.OperationalError as exc:
            raise self._translate(exc) from exc

    async def _cursor(
        self, conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]
    ) -> sqlite3.Cursor:
        try:
            return conn.execute(_qmark(sql), args)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise self._translate(exc) from exc
        return await self._busy_retry(conn, sql, args)

    async def _busy_retry(
        self, conn: sqlite3.Connection, sql: str, args: tuple[Any, ...]
    ) -> sqlite3.Cursor:
        """Another process holds the write lock: retry without blocking the loop, then give up.

        A statement that failed with SQLITE_BUSY was rolled back on its own, so it can be retried
        (inside a transaction too). The caller keeps the connection lock meanwhile: every other
        writer would meet the same lock.
        """
        deadline = time.monotonic() + self.busy_wait_s
        delay_s = 0.005
        while True:
            await asyncio.sleep(delay_s)
            try:
                return conn.execute(_qmark(sql), args)
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() + delay_s > deadline:
                    raise self._translate(exc) from exc
            delay_s = min(delay_s * 2, 0.2)

    @staticmethod
    def _translate(exc: sqlite3.OperationalError) -> Exception:
        if _unavailable(exc):
            return StorageUnavailable(f"SQLite database unavailable: {exc}")
        return exc

    async def execute(self, sql: str, *args: Any) -> int:
        conn = self._connection()
        if self._in_txn.get():
            self._still_in_transaction(conn)
            return await self._run(conn, sql, args)
        async with self._conn_lock:
            group = self._groups.live(conn)
            count = await self._run(conn, sql, args)
        if group is not None:  # it ran inside the open group: done once that commits
            await group.wait()
        return count

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        conn = self._connection()
        if self._in_txn.get():
            self._still_in_transaction(conn)
            return await self._run_fetch(conn, sql, args)
        async with self._conn_lock:
            group = self._groups.live(conn)
            rows = await self._run_fetch(conn, sql, args)
        if group is not None:  # it saw (or wrote) what the open group has not committed yet
            await group.wait()
        return rows

    @staticmethod
    def _still_in_transaction(conn: sqlite3.Connection) -> None:
        """A member's statement must not autocommit after SQLite ended the transaction on its
        own (disk full, I/O error): that member is failing."""
        if not conn.in_transaction:
            raise StorageUnavailable("SQLite ended the transaction (rolled back)")


class _Transaction:
    """`SqliteDatabase.transaction()`: the key's lock, the connection, a savepoint in the open
    commit group; nested ones join the outer one and take no further lock (it already excludes
    every other writer). A class rather than an asynccontextmanager: every webhook and every
    flow step opens one, and the generator machinery cost more than the savepoint."""

    __slots__ = ("_conn", "_db", "_group", "_joined", "_key", "_token")

    def __init__(self, db: SqliteDatabase, key: str | None) -> None:
        self._db = db
        self._key = key
        self._joined = False

    async def __aenter__(self) -> None:
        db = self._db
        if db._in_txn.get():
            self._joined = True
            return
        if self._key is not None:
            await db.locks.acquire(self._key)
        try:
            await db._conn_lock.acquire()
            try:
                conn = db._connection()
                group = db._groups.live(conn)
                if group is None:
                    if db._groups.closing:
                        raise StorageUnavailable("SQLite database is closing")
                    await db._run(conn, "BEGIN IMMEDIATE", ())
                    group = db._groups.begun()
                group.members += 1
                await db._run(conn, "SAVEPOINT member", ())
            except BaseException:
                db._conn_lock.release()
                raise
        except BaseException:
            self._release_key()
            raise
        self._conn, self._group = conn, group
        self._token = db._in_txn.set(True)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._joined:
            return
        db = self._db
        try:
            try:
                db._in_txn.reset(self._token)
                if exc_type is not None:
                    db._groups.rollback_member(self._conn, self._group)
                else:
                    try:
                        await db._run(self._conn, "RELEASE member", ())
                    except BaseException:  # told "failed": its writes must not commit
                        db._groups.rollback_member(self._conn, self._group)
                        raise
            finally:
                db._conn_lock.release()
            if exc_type is None:
                await self._group.wait()  # done means committed
        finally:
            self._release_key()

    def _release_key(self) -> None:
        if self._key is not None:
            self._db.locks.release(self._key)
