"""WAL checkpoints off the event loop: the only fsyncs SQLite does with synchronous=NORMAL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 1.0


class Checkpointer:
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
