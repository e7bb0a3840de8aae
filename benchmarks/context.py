"""What every scenario gets: the bridge replicas, the stubs, the secrets and a client."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from benchmarks.bridge_proc import ServerProcess
from benchmarks.emitter import WebhookEmitter
from benchmarks.loadgen import Target
from benchmarks.payloads import INSTANCE, Secrets, jid_of
from benchmarks.stubs import Stubs


@dataclass
class BenchContext:
    bridges: list[ServerProcess]
    stubs: Stubs
    secrets: Secrets
    http: aiohttp.ClientSession
    driver: WebhookEmitter  # the customers' side: webhooks as Evolution would post them
    _wa_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _admin_rr: itertools.count[int] = field(default_factory=lambda: itertools.count())

    @property
    def targets(self) -> list[Target]:
        return [Target("127.0.0.1", b.port) for b in self.bridges]

    def wa_message_id(self) -> str:
        return f"BENCH{next(self._wa_ids):027X}"

    def cpu_seconds(self) -> float:
        return sum(b.cpu_seconds() for b in self.bridges)

    async def contact_state(self, phone: str) -> str | None:
        bridge = self.bridges[next(self._admin_rr) % len(self.bridges)]
        url = f"{bridge.url}/api/contacts/{INSTANCE}/{jid_of(phone)}"
        headers = {"Authorization": f"Bearer {self.secrets.admin}"}
        async with self.http.get(url, headers=headers) as response:
            if response.status != 200:
                return None
            body: dict[str, Any] = await response.json()
            return str(body["state"])

    async def outbox_pending(self) -> int:
        """Pending outbox items, from /readyz (`pending=N oldest_age_ms=M`)."""
        async with self.http.get(f"{self.bridges[0].url}/readyz") as response:
            text = await response.text()
        marker = text.find("pending=")
        if marker < 0:
            return 0
        digits = itertools.takewhile(str.isdigit, text[marker + len("pending=") :])
        return int("".join(digits) or 0)

    async def settle(self, timeout_s: float = 60.0, quiet_s: float = 1.0) -> bool:
        """Wait until the outbox is empty and the stubs have nothing in flight for `quiet_s`."""
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = await self.outbox_pending() > 0 or self.stubs.emitter.in_flight > 0
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_s:
                return True
            await asyncio.sleep(0.1)
        return False
