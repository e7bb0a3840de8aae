"""Group commit for the one SQLite connection: concurrent transactions share one COMMIT.

A COMMIT is most of what a short SQLite transaction costs (WAL frames written for every page
touched). Under load many transactions are ready in the same event-loop turn: a webhook burst, a
batch of outbox settlements, several lanes. Each one runs as a SAVEPOINT inside one open
transaction, and a single COMMIT, issued once the loop has let the ready ones in, makes them all
durable. Nobody is told "done" earlier: every member (and every statement run outside a
transaction while a group is open) waits for that COMMIT, and learns of its failure. A member
that fails rolls back to its savepoint only; the others are unaffected.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable

from bridge.errors import StorageUnavailable
from bridge.state.priority import PriorityLock, urgent_storage

log = logging.getLogger(__name__)


class CommitGroup:
    """One open transaction and the outcome its members wait for."""

    def __init__(self) -> None:
        self.members = 0
        self._done = asyncio.Event()
        self._error: BaseException | None = None

    def settle(self, error: BaseException | None) -> None:
        if not self._done.is_set():
            self._error = error
            self._done.set()

    async def wait(self) -> None:
        """Return once committed; raise StorageUnavailable if it was not."""
        await self._done.wait()
        if self._error is not None:
            # One exception object per waiter: the same one raised in many tasks would collect
            # all their tracebacks.
            raise StorageUnavailable(f"SQLite commit failed: {self._error}") from self._error


class GroupCommits:
    """The connection's open group, the task that will commit it, and what was committed."""

    def __init__(
        self, conn_lock: PriorityLock, connection: Callable[[], sqlite3.Connection]
    ) -> None:
        self._conn_lock = conn_lock
        self._connection = connection
        self._group: CommitGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = False
        self.commits = 0  # COMMITs so far, and the transactions they carried
        self.committed_members = 0

    def live(self, conn: sqlite3.Connection) -> CommitGroup | None:
        """The open group, unless SQLite ended its transaction on its own (I/O error, disk
        full): then its members learn that it failed, and there is no open group."""
        group = self._group
        if group is not None and not conn.in_transaction:
            self._fail(group, "SQLite rolled the transaction back")
            return None
        return group

    def begun(self) -> CommitGroup:
        """A new group; BEGIN IMMEDIATE has just run under the connection lock."""
        group = self._group = CommitGroup()
        self._schedule(group)
        return group

    def rollback_member(self, conn: sqlite3.Connection, group: CommitGroup) -> None:
        try:
            conn.execute("ROLLBACK TO member")
            conn.execute("RELEASE member")
        except sqlite3.Error:
            # The savepoint went with the whole transaction: every member fails.
            log.warning("sqlite rollback to savepoint failed", exc_info=True)
            _rollback(conn)
            self._fail(group, "the transaction was rolled back")

    async def drain(self) -> None:
        """Commit what is open and refuse new groups (the connection is about to close)."""
        self.closing = True
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _fail(self, group: CommitGroup, why: str) -> None:
        if self._group is group:
            self._group = None
        group.settle(sqlite3.OperationalError(why))

    def _schedule(self, group: CommitGroup) -> None:
        task = asyncio.create_task(self._commit(group), name="sqlite-commit")
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._commit_ended(done, group))

    def _commit_ended(self, task: asyncio.Task[None], group: CommitGroup) -> None:
        self._tasks.discard(task)
        if self._group is group:  # cancelled (even before it started): members must not hang
            try:
                self._schedule(group)
            except RuntimeError:  # the loop is closed: nothing can commit any more
                self._fail(group, "the event loop closed before the commit")

    async def _commit(self, group: CommitGroup) -> None:
        """One COMMIT for every member that joined before the loop came back to it."""
        await asyncio.sleep(0)  # the members ready in this turn join first
        with urgent_storage():  # FIFO with webhooks, ahead of background work
            async with self._conn_lock:
                self._commit_now(group)

    def _commit_now(self, group: CommitGroup) -> None:
        if self._group is not group:
            return  # already settled: it failed
        self._group = None
        try:
            conn = self._connection()
        except StorageUnavailable as exc:  # closed under it: nothing was committed
            group.settle(exc)
            return
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)  # never leave the shared connection inside a transaction
            group.settle(exc)
            return
        self.commits += 1
        self.committed_members += group.members
        group.settle(None)


def _rollback(conn: sqlite3.Connection) -> None:
    # A failed rollback must not hide the error that caused it.
    try:
        conn.rollback()
    except sqlite3.Error:
        log.warning("sqlite rollback failed", exc_info=True)
