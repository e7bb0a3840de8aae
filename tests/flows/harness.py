"""Driving the live stack like the outside world does: a phone, an agent, and what they see."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from bridge.demo.stack import LiveStack

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout_s: float = 15.0, what: str = "condition"
) -> T:
    """Poll until `probe` returns something truthy (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


@dataclass
class World:
    stack: LiveStack
    http: httpx.AsyncClient

    @property
    def admin_token(self) -> str:
        return self.stack.settings.bridge_admin_token.get_secret_value()

    @property
    def evolution(self) -> str:
        return self.stack.sims.urls["evolution"]

    @property
    def chatwoot(self) -> str:
        return self.stack.sims.urls["chatwoot"]

    async def phone_says(self, phone: str, text: str, **extra: Any) -> dict[str, Any]:
        body = {"from_phone": phone, "push_name": extra.pop("push_name", "Thandi"), "text": text}
        response = await self.http.post(
            f"{self.evolution}/_sim/evolution/inbound", json={**body, **extra}
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def phone_sends(self, phone: str, **content: Any) -> dict[str, Any]:
        body = {"from_phone": phone, "push_name": "Thandi", **content}
        response = await self.http.post(f"{self.evolution}/_sim/evolution/inbound", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def sent_to(self, phone: str) -> list[dict[str, Any]]:
        """What Evolution sent to this phone, in order."""
        sent = (await self.http.get(f"{self.evolution}/_sim/evolution/sent")).json()
        return [s for s in sent if phone in json.dumps(s.get("request", s))]

    async def texts_to(self, phone: str) -> list[str]:
        out = []
        for s in await self.sent_to(phone):
            request = s.get("request", s)
            out.append(request.get("text") or request.get("caption") or request.get("media", ""))
        return out

    async def wait_texts_to(self, phone: str, count: int, timeout_s: float = 15.0) -> list[str]:
        async def probe() -> list[str] | None:
            texts = await self.texts_to(phone)
            return texts if len(texts) >= count else None

        return await eventually(probe, timeout_s=timeout_s, what=f"{count} messages to {phone}")

    async def chatwoot_state(self) -> dict[str, Any]:
        state: dict[str, Any] = (await self.http.get(f"{self.chatwoot}/_sim/chatwoot/state")).json()
        return state

    async def conversation_of(self, phone: str) -> dict[str, Any] | None:
        for conversation in (await self.chatwoot_state()).get("conversations", []):
            source = (conversation.get("contact_inbox") or {}).get("source_id", "")
            if source.startswith(phone):
                return dict(conversation)
        return None

    async def wait_conversation_messages(
        self, phone: str, count: int, timeout_s: float = 15.0
    ) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            conversation = await self.conversation_of(phone)
            if conversation and len(conversation["messages"]) >= count:
                return conversation
            return None

        return await eventually(probe, timeout_s=timeout_s, what=f"{count} messages in Chatwoot")

    def _cw_headers(self) -> dict[str, str]:
        return {"api_access_token": self.stack.sims.credentials.chatwoot_api_token}

    async def agent_replies(
        self, conversation_id: int, content: str, **extra: Any
    ) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.chatwoot}/api/v1/accounts/1/conversations/{conversation_id}/messages",
            json={"content": content, "message_type": "outgoing", **extra},
            headers=self._cw_headers(),
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def agent_sets_status(self, conversation_id: int, status: str) -> None:
        response = await self.http.post(
            f"{self.chatwoot}/api/v1/accounts/1/conversations/{conversation_id}/toggle_status",
            json={"status": status},
            headers=self._cw_headers(),
        )
        assert response.status_code == 200, response.text

    async def contact_state(self, jid: str) -> dict[str, Any]:
        instance = self.stack.settings.evolution_instance
        response = await self.http.get(
            f"{self.stack.bridge_url}/api/contacts/{instance}/{jid}",
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def post_chatwoot_webhook(self, body: dict[str, Any]) -> httpx.Response:
        raw = json.dumps(body).encode()
        secret = self.stack.settings.chatwoot_webhook_secret_list[0].get_secret_value()
        ts = str(int(time.time()))
        signature = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return await self.http.post(
            f"{self.stack.bridge_url}/webhooks/chatwoot",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Chatwoot-Timestamp": ts,
                "X-Chatwoot-Signature": f"sha256={signature}",
            },
        )

    async def post_evolution_webhook(self, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            f"{self.stack.bridge_url}/webhooks/evolution",
            json=body,
            headers={
                "X-Webhook-Secret": self.stack.settings.evolution_webhook_secret.get_secret_value()
            },
        )
