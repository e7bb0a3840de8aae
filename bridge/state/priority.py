"""A lock whose urgent waiters go first: webhook writes jump the queue of background work.

On SQLite every statement shares one connection. A webhook answering Evolution or Chatwoot must
not queue behind every flow transaction waiting for it; background work (inbox lanes, outbox)
only needs to get the connection eventually. Mark the urgent path with `urgent_storage()`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType

_urgent: ContextVar[bool] = ContextVar("bridge_urgent_storage", default=False)


@contextmanager
def urgent_storage() -> Iterator[None]:
    """Storage calls made inside go ahead of background work waiting for the connection."""
    token = _urgent.set(True)
    try:
        yield
    finally:
        _urgent.reset(token)


class PriorityLock:
    """Mutual exclusion, FIFO within each class, urgent waiters served before the others."""

    def __init__(self) -> None:
        self._locked = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._locked

    async def acquire(self) -> None:
        if not self._locked and not self._urgent and not self._normal:
            self._locked = True
            return
        queue = self._urgent if _urgent.get() else self._normal
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as we were cancelled: pass it on
            elif waiter in queue:  # release() drops cancelled waiters it meets on its own
                queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # ownership passes directly: stays locked
                    return
        self._locked = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
