"""What the outside world sends the bridge, and what came out at the simulators."""

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

from bridge.sim import evolution_payloads as p
from bridge.sim.chatwoot_http import HOOKS_KEY
from bridge.sim.evolution_webhooks import envelope
from tests.reliability.live import PreparedStack

T = TypeVar("T")

MENU = "*Choose Department:*\n\n1. DTV\n2. Sales"


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout_s: float = 30.0, what: str = "condition"
) -> T:
    """Poll until `probe` returns something truthy (a deadline, not a timing assertion)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last: T | None = None
    while loop.time() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def jid(phone: str) -> str:
    return f"{phone}@s.whatsapp.net"


@dataclass
class Outside:
    """A customer's phone (Evolution webhooks), Chatwoot agents, and inspection of the sims."""

    stack: PreparedStack
    http: httpx.AsyncClient

    @property
    def evolution_url(self) -> str:
        return self.stack.sims.urls["evolution"]

    @property
    def chatwoot_url(self) -> str:
        return self.stack.sims.urls["chatwoot"]

    # -- webhooks into the bridge ------------------------------------------------------------

    def upsert_body(self, phone: str, text: str, wa_message_id: str) -> dict[str, Any]:
        """A `messages.upsert` of a customer's text, enveloped as Evolution 2.3 sends it."""
        instance = self.stack.settings.evolution_instance
        inst = self.stack.sims.evolution.instances[instance]
        key = p.inbound_key(
            from_phone=phone, from_lid=None, from_me=False, message_id=wa_message_id
        )
        data = p.inbound_data(
            key=key,
            push_name="Customer",
            message=p.text_message(text),
            message_type="conversation",
            instance_id=inst.instance_id,
        )
        return envelope(
            event="messages.upsert",
            instance=instance,
            data=data,
            destination=f"{self.stack.url}/webhooks/evolution",
            sender=inst.owner_jid,
            server_url=self.evolution_url,
        )

    def evolution_headers(self) -> dict[str, str]:
        secret = self.stack.settings.evolution_webhook_secret.get_secret_value()
        return {"X-Webhook-Secret": secret}

    async def post_evolution(self, body: dict[str, Any]) -> int:
        """Status of one delivery attempt; 0 when the bridge could not be reached."""
        try:
            response = await self.http.post(
                f"{self.stack.url}/webhooks/evolution", json=body, headers=self.evolution_headers()
            )
        except httpx.HTTPError:
            return 0
        return response.status_code

    async def customer_says(self, phone: str, text: str, wa_message_id: str) -> int:
        return await self.post_evolution(self.upsert_body(phone, text, wa_message_id))

    def chatwoot_headers(self, raw: bytes, *, secret: str | None = None) -> dict[str, str]:
        secret = secret or self.stack.settings.chatwoot_webhook_secret_list[0].get_secret_value()
        ts = str(int(time.time()))
        digest = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/json",
            "X-Chatwoot-Timestamp": ts,
            "X-Chatwoot-Signature": f"sha256={digest}",
        }

    async def post_chatwoot(self, body: dict[str, Any]) -> int:
        raw = json.dumps(body).encode()
        try:
            response = await self.http.post(
                f"{self.stack.url}/webhooks/chatwoot",
                content=raw,
                headers=self.chatwoot_headers(raw),
            )
        except httpx.HTTPError:
            return 0
        return response.status_code

    # -- Chatwoot as an agent ----------------------------------------------------------------

    def _cw_headers(self) -> dict[str, str]:
        return {"api_access_token": self.stack.sims.credentials.chatwoot_api_token}

    async def agent_replies(self, conversation_id: int, content: str) -> int:
        """Creates the message in Chatwoot (which fires its webhook); returns the message id."""
        response = await self.http.post(
            f"{self.chatwoot_url}/api/v1/accounts/1/conversations/{conversation_id}/messages",
            json={"content": content, "message_type": "outgoing"},
            headers=self._cw_headers(),
        )
        assert response.status_code == 200, response.text
        message_id: int = response.json()["id"]
        return message_id

    # -- what came out -----------------------------------------------------------------------

    # Read in-process (the simulators run here): fast even with thousands of messages.

    async def sent_texts(self) -> dict[str, list[str]]:
        """Texts Evolution sent, per phone number, in order."""
        out: dict[str, list[str]] = {}
        for item in list(self.stack.sims.evolution.sent):
            request = item.get("request", item)
            number = str(request.get("number", "")).split("@")[0]
            text = request.get("text") or request.get("caption") or ""
            out.setdefault(number, []).append(text)
        return out

    async def conversations(self) -> dict[str, dict[str, Any]]:
        """Chatwoot conversations by the contact's phone, each with its messages in order."""
        state = self.stack.sims.chatwoot
        by_conversation: dict[int, list[dict[str, Any]]] = {}
        for message in sorted(state.messages.values(), key=lambda m: int(m["id"])):
            by_conversation.setdefault(int(message["conversation_id"]), []).append(message)
        out: dict[str, dict[str, Any]] = {}
        for conversation in list(state.conversations.values()):
            contact_inbox = state.contact_inboxes[conversation["contact_inbox_id"]]
            phone = str(contact_inbox.get("source_id", "")).split("@")[0]
            messages = by_conversation.get(int(conversation["id"]), [])
            out.setdefault(phone, {**conversation, "messages": messages})
        return out

    async def chatwoot_deliveries(self) -> list[dict[str, Any]]:
        hooks = self.stack.sims.apps["chatwoot"][HOOKS_KEY]
        return list(hooks.deliveries)

    async def contact(self, phone: str) -> dict[str, Any] | None:
        instance = self.stack.settings.evolution_instance
        try:
            response = await self.http.get(
                f"{self.stack.url}/api/contacts/{instance}/{jid(phone)}",
                headers=self.stack.admin_headers,
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        result: dict[str, Any] = response.json()
        return result

    async def wait_state(self, phone: str, state: str, timeout_s: float = 30.0) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            contact = await self.contact(phone)
            return contact if contact and contact["state"] == state else None

        return await eventually(probe, timeout_s=timeout_s, what=f"{phone} in {state}")

    async def dead_letters(self) -> list[dict[str, Any]]:
        response = await self.http.get(
            f"{self.stack.url}/api/dead-letters", headers=self.stack.admin_headers
        )
        assert response.status_code == 200, response.text
        letters: list[dict[str, Any]] = response.json()["dead_letters"]
        return letters

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        response = await self.http.get(f"{self.stack.url}/readyz")
        body: dict[str, Any] = response.json()
        return response.status_code, body

    async def faults(self, sim: str, **spec: Any) -> None:
        response = await self.http.post(f"{self.stack.sims.urls[sim]}/_sim/faults", json=spec)
        assert response.status_code == 200, response.text

    async def clear_faults(self, sim: str) -> None:
        await self.http.delete(f"{self.stack.sims.urls[sim]}/_sim/faults")
