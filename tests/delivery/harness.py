"""A test flow, a test outbox route and a recording receiver: what proves the delivery machinery.

The flow stands in for the real conversation flows: per WhatsApp message it appends the message
id to the contact's transcript (the side effect that shows processing happened once, in order)
and enqueues one `probe.deliver` item whose dedupe key derives from the event. The route POSTs
each item to the receiver with its dedupe key; the receiver records every call and applies each
key's effect once, as an idempotent upstream would.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bridge.delivery.outbox import Delivered, OutboxRoute
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from bridge.flows.context import FlowContext
from bridge.keys import EVENT_ROUTES, OUTBOX_ROUTES
from bridge.state.records import Direction, InboundEvent, OutboxItem, TranscriptEntry
from tests.contracts_dir import load_contract

PROBE_KIND = "probe.deliver"
WA_KIND = "evolution.messages.upsert"
RETRYABLE_STATUSES = frozenset({408, 425, 429})

AfterSuccess = Callable[[OutboxItem], Awaitable[None]]


def probe_key(external_id: str) -> str:
    """The dedupe key of the item the test flow enqueues for the event `external_id`."""
    return f"probe:{external_id}"


def wa_message(instance: str, phone: str, wa_message_id: str, text: str = "hi") -> dict[str, Any]:
    """A real `messages.upsert` sample (Evolution 2.3.7 shape) for another contact and message."""
    document: dict[str, Any] = copy.deepcopy(load_contract("evolution/messages-upsert-text.json"))
    jid = f"{phone}@s.whatsapp.net"
    document["instance"] = instance
    document["data"]["key"].update({"remoteJid": jid, "remoteJidAlt": jid, "id": wa_message_id})
    document["data"]["message"] = {"conversation": text}
    return document


async def probe_flow(ctx: FlowContext, event: InboundEvent) -> None:
    """The test flow: one transcript line and one outbound item per stored event."""
    if event.contact_id is not None:
        await ctx.repository.append_transcript(
            TranscriptEntry(event.contact_id, Direction.INBOUND, event.external_id, kind="probe")
        )
    await ctx.enqueue(
        PROBE_KIND,
        probe_key(event.external_id),
        {"external_id": event.external_id, "event_id": event.id},
        event.contact_id,
    )


@dataclass
class ProbeSender:
    """The `probe.deliver` handler: one POST per attempt, classified like the real clients."""

    url: str
    label: str = "probe"
    after_success: AfterSuccess | None = None
    _session: aiohttp.ClientSession | None = None

    async def __call__(self, item: OutboxItem) -> Delivered:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        body = {
            "dedupe_key": item.dedupe_key,
            "item_id": item.id,
            "contact_id": item.contact_id,
            "attempt": item.attempts,
            "sender": self.label,
            **item.payload,
        }
        try:
            async with self._session.post(
                self.url, json=body, headers={"Idempotency-Key": item.dedupe_key}
            ) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
                await response.read()
        except aiohttp.ClientConnectorError as exc:
            raise RetryableDeliveryError(f"connect: {exc}", never_sent=True) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableDeliveryError(f"transport: {exc!r}") from exc
        if status in RETRYABLE_STATUSES or status >= 500:
            delay = float(retry_after) if retry_after and retry_after.isdigit() else None
            raise RetryableDeliveryError(f"HTTP {status}", status=status, retry_after_s=delay)
        if status >= 400:
            raise PermanentDeliveryError(f"HTTP {status}", status=status)
        if self.after_success is not None:
            await self.after_success(item)
        return Delivered({"status": status})

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def install_probe(app: web.Application, receiver_url: str, *, label: str = "probe") -> ProbeSender:
    """Register the test flow and the test outbox route on an app that is not started yet."""
    sender = ProbeSender(receiver_url, label)
    # Only the probe runs: these tests prove the machinery, independently of the real flows.
    app[EVENT_ROUTES].clear()
    app[OUTBOX_ROUTES].clear()
    app[EVENT_ROUTES][WA_KIND] = probe_flow
    app[OUTBOX_ROUTES][PROBE_KIND] = OutboxRoute(sender, timeout_s=15.0)

    async def close_sender(_: web.Application) -> None:
        await sender.close()

    # on_cleanup runs after the cleanup contexts, so the workers have stopped by then.
    app.on_cleanup.append(close_sender)
    return sender


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordingReceiver:
    """The upstream the outbox calls: records every call, answers scripted replies per key."""

    scripted: dict[str, list[Reply]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    effects: dict[str, int] = field(default_factory=dict)
    delay_s: float = 0.0

    def script(self, dedupe_key: str, *replies: Reply) -> None:
        self.scripted.setdefault(dedupe_key, []).extend(replies)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.headers["Idempotency-Key"]
        if self.delay_s:
            await asyncio.sleep(self.delay_s)  # widens the window in which replicas overlap
        queue = self.scripted.get(key)
        reply = queue.pop(0) if queue else Reply()
        self.calls.append({**body, "idempotency_key": key, "status": reply.status})
        if reply.status < 300 and key not in self.effects:
            self.effects[key] = len(self.effects)  # the receiving side dedupes by key
        return web.json_response(
            {"ok": reply.status < 300}, status=reply.status, headers=reply.headers
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/deliver", self.handle)
        return app

    def called_keys(self, *, status: int | None = None) -> list[str]:
        return [c["dedupe_key"] for c in self.calls if status is None or c["status"] == status]

    def first_delivery_order(self, contact_id: int) -> list[str]:
        """Keys of one contact in the order of their first successful delivery."""
        seen: list[str] = []
        for call in self.calls:
            ok = call["contact_id"] == contact_id and call["status"] < 300
            if ok and call["dedupe_key"] not in seen:
                seen.append(call["dedupe_key"])
        return seen


async def wait_until(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout_s: float = 15.0,
    what: str = "condition",
) -> None:
    """Poll `predicate` until it holds; fail (not hang) after `timeout_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
