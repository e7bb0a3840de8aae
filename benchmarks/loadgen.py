"""Async HTTP/1.1 load generator over loopback: keep-alive connections, bounded, stops by itself.

A hand-written client on asyncio streams, because a general-purpose client (aiohttp, httpx) costs
several times more CPU per request than the servers measured here, and the generator must not be
the bottleneck. Responses are expected with Content-Length (aiohttp always sends it).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Target:
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> Target:
        hostport = url.split("://", 1)[-1].split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        return cls(host, int(port))


@dataclass(frozen=True, slots=True)
class Request:
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"

    def encode(self, target: Target) -> bytes:
        lines = [
            f"{self.method} {self.path} HTTP/1.1",
            f"Host: {target.host}:{target.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(self.body)}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


class Connection:
    """One keep-alive connection; `send` writes a request and reads its whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, target: Target) -> Connection:
        reader, writer = await asyncio.open_connection(target.host, target.port)
        return cls(reader, writer)

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        self._writer.write(raw)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, _, header_block = head.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self._reader.readexactly(length) if length else b""
        return status, body

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


@dataclass
class LoadResult:
    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    # index → (sent, answered), perf_counter seconds; open loop only.
    spans: dict[int, tuple[float, float]] = field(default_factory=dict)
    status_of: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0


async def _send_retrying(
    conns: dict[Target, Connection], target: Target, raw: bytes
) -> tuple[int, bytes]:
    """Send on the target's connection, reconnecting once if the server closed it."""
    for attempt in (1, 2):
        conn = conns.get(target)
        if conn is None:
            conn = conns[target] = await Connection.open(target)
        try:
            return await conn.send(raw)
        except (ConnectionError, asyncio.IncompleteReadError):
            del conns[target]
            await conn.close()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def closed_loop(
    targets: Sequence[Target],
    requests: Sequence[Request],
    *,
    concurrency: int,
    on_response: Callable[[int, int, bytes], None] | None = None,
) -> LoadResult:
    """Send every request once with `concurrency` workers; request i goes to targets[i % n]."""
    result = LoadResult()
    encoded = [(targets[i % len(targets)], r) for i, r in enumerate(requests)]
    counter = itertools.count()

    async def worker() -> None:
        conns: dict[Target, Connection] = {}
        try:
            while (index := next(counter)) < len(encoded):
                target, request = encoded[index]
                started = time.perf_counter()
                try:
                    status, body = await _send_retrying(conns, target, request.encode(target))
                except (OSError, asyncio.IncompleteReadError):
                    result.errors += 1
                    continue
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                result.statuses[status] += 1
                if on_response is not None:
                    on_response(index, status, body)
        finally:
            for conn in conns.values():
                await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests)))))
    result.elapsed_s = time.perf_counter() - started
    result.sent = len(requests)
    return result


async def open_loop(
    targets: Sequence[Target],
    requests: Sequence[Request],
    *,
    rate_per_s: float,
    max_connections: int = 256,
    on_sent: Callable[[int, float], None] | None = None,
) -> LoadResult:
    """Offer requests at a fixed rate whatever the server does (no coordinated omission).

    `on_sent(index, perf_counter_when_due)` lets the caller time what happens downstream.
    """
    result = LoadResult()
    idle: dict[Target, list[Connection]] = {t: [] for t in targets}
    slots = asyncio.Semaphore(max_connections)

    async def one(index: int, target: Target, request: Request, due: float) -> None:
        # Timed from when the request was due, so a stalled server cannot hide its queue.
        if on_sent is not None:
            on_sent(index, due)
        async with slots:
            conns = {target: idle[target].pop()} if idle[target] else {}
            sent_at = time.perf_counter()
            try:
                status, _ = await _send_retrying(conns, target, request.encode(target))
            except (OSError, asyncio.IncompleteReadError):
                result.errors += 1
                return
            answered_at = time.perf_counter()
            result.spans[index] = (sent_at, answered_at)
            result.status_of[index] = status
            result.latencies_ms.append((answered_at - due) * 1000)
            result.statuses[status] += 1
            idle[target].extend(conns.values())

    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for index, request in enumerate(requests):
        due = started + index / rate_per_s
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        target = targets[index % len(targets)]
        tasks.append(asyncio.create_task(one(index, target, request, due)))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - started
    result.sent = len(requests)
    for conns in idle.values():
        for conn in conns:
            await conn.close()
    return result
