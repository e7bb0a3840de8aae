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
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from bridge.errors import StorageUnavailable
from bridge.state.database import Database, LockKey, Row, lock_name
from bridge.state.locks import KeyedLocks
from bridge.state.priority import PriorityLock, urgent_storage
from bridge.state.sqlite_group import CommitGroup

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
CHECKPOINT_INTERVAL_S = 1.0


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
        self._checkpointer: _Checkpointer | None = None
        self._group: CommitGroup | None = None
        self._commits: set[asyncio.Task[None]] = set()
        self.commits = 0  # group commits so far, and the transactions they carried
        self.committed_members = 0

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
            self._checkpointer = _Checkpointer(self.path, conn)
            self._checkpointer.start()
        log.info("sqlite database opened path=%s", self.path)

    async def close(self) -> None:
        if self._commits:  # the open group commits before the connection closes
            await asyncio.gather(*self._commits, return_exceptions=True)
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
        return self._transaction(lock)

    def holds_write_lock(self) -> bool:
        return self._in_txn.get()

    def grouped(self) -> AbstractAsyncContextManager[None]:
        # One commit instead of one per statement; nothing suspends inside, so the shared
        # connection is held for microseconds.
        return self._transaction(None)

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
            group = await self._open_group(conn)
            group.members += 1
            await self._run(conn, "SAVEPOINT member", ())
            token = self._in_txn.set(True)
            try:
                yield
            except BaseException:
                self._in_txn.reset(token)
                self._rollback_member(conn, group)
                raise
            self._in_txn.reset(token)
            await self._run(conn, "RELEASE member", ())
        await group.wait()

    async def _open_group(self, conn: sqlite3.Connection) -> CommitGroup:
        """The open group transaction (holding the connection lock), or a new one."""
        group = self._group
        if group is not None and not group.broken and conn.in_transaction:
            return group
        if group is not None:  # SQLite rolled it back on its own (I/O error, disk full)
            self._group = None
            group.broken = True
            group.settle(sqlite3.OperationalError("the transaction was rolled back"))
        await self._run(conn, "BEGIN IMMEDIATE", ())
        group = self._group = CommitGroup()
        self._commits.add(asyncio.create_task(self._commit(group), name="sqlite-commit"))
        return group

    def _rollback_member(self, conn: sqlite3.Connection, group: CommitGroup) -> None:
        try:
            conn.execute("ROLLBACK TO member")
            conn.execute("RELEASE member")
        except sqlite3.Error:
            # The savepoint is gone with the transaction: the whole group fails.
            log.warning("sqlite rollback to savepoint failed", exc_info=True)
            group.broken = True
            if self._group is group:
                self._group = None
                _rollback(conn)
                group.settle(sqlite3.OperationalError("the transaction was rolled back"))

    async def _commit(self, group: CommitGroup) -> None:
        """One COMMIT for every member that joined before the loop came back to it."""
        try:
            await asyncio.sleep(0)  # the members ready in this turn join first
            with urgent_storage():  # FIFO with webhooks, ahead of background work
                async with self._conn_lock:
                    self._commit_now(group)
        finally:
            self._commits.discard(asyncio.current_task())

    def _commit_now(self, group: CommitGroup) -> None:
        if self._group is not group:
            return  # already settled (broken, or committed by close())
        self._group = None
        conn = self._connection()
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)  # never leave the shared connection inside a transaction
            group.settle(exc)
            return
        self.commits += 1
        self.committed_members += group.members
        group.settle(None)

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
            return await self._run(conn, sql, args)
        async with self._conn_lock:
            group = self._group
            count = await self._run(conn, sql, args)
        if group is not None:  # it ran inside the open group: done once that commits
            await group.wait()
        return count

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        conn = self._connection()
        if self._in_txn.get():
            return await self._run_fetch(conn, sql, args)
        async with self._conn_lock:
            group = self._group
            rows = await self._run_fetch(conn, sql, args)
        if group is not None:  # it saw (or wrote) what the open group has not committed yet
            await group.wait()
        return rows


def _rollback(conn: sqlite3.Connection) -> None:
    # A failed rollback must not hide the error that caused it.
    try:
        conn.rollback()
    except sqlite3.Error:
        log.warning("sqlite rollback failed", exc_info=True)


class _Checkpointer:
    """Copies the WAL back into the database file from a worker thread, once a second.

    PASSIVE checkpoints never wait for (or block) the writer. They are where the fsyncs happen,
    so doing them here keeps disk flushes off the event loop.
    """

    def __init__(self, path: str, writer: sqlite3.Connection) -> None:
        self._path = path
        self._writer = writer  # read on the loop thread only: its count of changed rows
        self._checkpointed_changes = writer.total_changes
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sqlite-checkpoint")

    async def stop(self) -> None:
        # Not cancelled: a checkpoint running in its thread finishes before its connection closes.
        self._stopping.set()
        if self._task is not None:
            await self._task
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await asyncio.to_thread(conn.close)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), CHECKPOINT_INTERVAL_S)
            changes = self._writer.total_changes  # every write, in a transaction or not
            if changes == self._checkpointed_changes or self._stopping.is_set():
                continue
            self._checkpointed_changes = changes
            try:
                await asyncio.to_thread(self._checkpoint)
            except sqlite3.Error as exc:
                log.warning("sqlite checkpoint failed (the next one retries): %s", exc)

    def _checkpoint(self) -> None:
        if self._conn is None:
            # Used by one worker thread at a time (the loop awaits each checkpoint).
            self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
