"""Webhooks from the stubs to the bridge: fire-and-forget, bounded, round-robin over replicas."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Sequence

from benchmarks.loadgen import Connection, Request, Target


class WebhookEmitter:
    """Like Chatwoot's and Evolution's senders: one POST per event, counted by status."""

    def __init__(self, targets: Sequence[Target], max_connections: int = 64) -> None:
        self.targets = list(targets)
        self.statuses: Counter[int] = Counter()
        self.errors = 0
        self._next = itertools.count()
        self._idle: dict[Target, list[Connection]] = {t: [] for t in self.targets}
        self._slots = asyncio.Semaphore(max_connections)
        self._tasks: set[asyncio.Task[int]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def emit(self, request: Request) -> None:
        target = self.targets[next(self._next) % len(self.targets)]
        task = asyncio.create_task(self._post(target, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, request: Request) -> int:
        """Send now and wait for the status (Typebot's HTTP block waits for its answer)."""
        target = self.targets[next(self._next) % len(self.targets)]
        return await self._post(target, request)

    async def _post(self, target: Target, request: Request) -> int:
        async with self._slots:
            idle = self._idle[target]
            conn = idle.pop() if idle else None
            for attempt in (1, 2):
                try:
                    if conn is None:
                        conn = await Connection.open(target)
                    status, _ = await conn.send(request.encode(target))
                except (OSError, asyncio.IncompleteReadError):
                    if conn is not None:
                        await conn.close()
                    conn = None
                    if attempt == 2:
                        self.errors += 1
                        return 0
                    continue
                self.statuses[status] += 1
                idle.append(conn)
                return status
        return 0

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        await self.drain()
        for conns in self._idle.values():
            for conn in conns:
                await conn.close()
            conns.clear()
