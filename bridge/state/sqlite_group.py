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

from bridge.errors import StorageUnavailable


class CommitGroup:
    """The open transaction and the outcome its members wait for."""

    def __init__(self) -> None:
        self.members = 0
        self._done = asyncio.Event()
        self._error: BaseException | None = None
        self.broken = False  # SQLite ended the transaction itself: no more members

    def settle(self, error: BaseException | None) -> None:
        self._error = error
        self._done.set()

    async def wait(self) -> None:
        """Return once committed; raise what the COMMIT (or the broken group) raised."""
        await self._done.wait()
        if self._error is not None:
            # One exception object per waiter: the same one raised in many tasks would collect
            # all their tracebacks.
            raise StorageUnavailable(f"SQLite commit failed: {self._error}") from self._error
