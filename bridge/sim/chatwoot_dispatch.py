"""Chatwoot webhook delivery to API-inbox `webhook_url`, agent bots, account webhooks; signed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bridge.sim.chatwoot_store import ChatwootState, Row
from bridge.sim.chatwoot_views import conversation_data, message_webhook


def ruby_json(payload: Any) -> bytes:
    """Compact JSON like Ruby `to_json` (ActiveSupport escapes <, > and & inside strings)."""
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class Target:
    kind: str  # "api_inbox" | "agent_bot" | "account_webhook"
    url: str
    secret: str | None


@dataclass
class ChatwootDispatcher:
    """One worker delivers in enqueue order; one attempt, no retry (API inbox / account hooks)."""

    state: ChatwootState
    timeout_s: float = 5.0
    deliveries: list[Row] = field(default_factory=list)
    queue: asyncio.Queue[tuple[Target, Row, int | None]] = field(default_factory=asyncio.Queue)
    session: aiohttp.ClientSession | None = None
    worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.session = aiohttp.ClientSession()
        self.worker = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            await asyncio.gather(self.worker, return_exceptions=True)
        if self.session is not None:
            await self.session.close()

    async def drain(self) -> None:
        await self.queue.join()

    def _targets(self, inbox: Row, event: str, *, bots: bool) -> list[Target]:
        out = []
        if inbox["channel_type"] == "Channel::Api" and inbox.get("webhook_url"):
            out.append(Target("api_inbox", inbox["webhook_url"], inbox.get("secret")))
        bot = self.state.agent_bots.get(inbox.get("agent_bot_id") or 0)
        if bots and bot is not None and bot.get("outgoing_url"):
            out.append(Target("agent_bot", bot["outgoing_url"], bot.get("secret")))
        for hook in self.state.webhooks.values():
            if event in hook["subscriptions"]:
                out.append(Target("account_webhook", hook["url"], hook.get("secret")))
        return out

    def message_event(self, msg: Row, event: str = "message_created") -> None:
        if msg["message_type"] == 2:  # activity messages are never sent
            return
        inbox = self.state.inboxes[msg["inbox_id"]]
        payload = message_webhook(self.state, msg, event)
        for target in self._targets(inbox, event, bots=True):
            self.queue.put_nowait((target, payload, msg["id"]))

    def conversation_event(self, conv: Row, event: str) -> None:
        inbox = self.state.inboxes[conv["inbox_id"]]
        payload: Row = {**conversation_data(self.state, conv), "event": event}
        if event == "conversation_status_changed":
            payload["changed_attributes"] = None
        bots = event != "conversation_created"
        for target in self._targets(inbox, event, bots=bots):
            self.queue.put_nowait((target, payload, None))

    async def _run(self) -> None:
        while True:
            target, payload, message_id = await self.queue.get()
            try:
                await self._deliver(target, payload, message_id)
            finally:
                self.queue.task_done()

    async def _deliver(self, target: Target, payload: Row, message_id: int | None) -> None:
        assert self.session is not None
        body = ruby_json(payload)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Chatwoot-Delivery": str(uuid.uuid4()),
        }
        if target.secret:
            ts = str(int(time.time()))
            headers["X-Chatwoot-Timestamp"] = ts
            headers["X-Chatwoot-Signature"] = sign(target.secret, ts, body)
        record: Row = {
            "kind": target.kind,
            "url": target.url,
            "event": payload.get("event"),
            "message_id": message_id,
            "signed": bool(target.secret),
        }
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout_s)
            async with self.session.post(
                target.url, data=body, headers=headers, timeout=timeout
            ) as resp:
                await resp.read()
                record["status"] = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            record["error"] = type(exc).__name__
        self.deliveries.append(record)
        ok = 200 <= int(record.get("status", 0)) < 300
        if not ok and message_id is not None and target.kind == "api_inbox":
            # Chatwoot marks the message failed (even incoming ones) and never retries.
            msg = self.state.messages.get(message_id)
            if msg is not None:
                msg["status"] = "failed"
                msg["content_attributes"]["external_error"] = str(
                    record.get("error") or f"HTTP {record.get('status')}"
                )
