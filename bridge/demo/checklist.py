"""The brief's verification checklist, played as a story against the live stack."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from bridge.demo.report import Report
from bridge.demo.stack import LiveStack

T = TypeVar("T")
CUSTOMER_PHONE = "27821234567"
STAFF_PASSWORD = "Decoder-Signal-Lamp-42"  # noqa: S105 - the demo employee's chosen password
LINK = re.compile(r"https?://\S+/onboarding/[A-Za-z0-9_\-]+")


async def _eventually(probe: Callable[[], Awaitable[T | None]], timeout_s: float = 15) -> T | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.1)
    return None


class Checklist:
    def __init__(self, stack: LiveStack, http: httpx.AsyncClient, report: Report) -> None:
        self.stack, self.http, self.report = stack, http, report
        self.sims = stack.sims
        self.admin = {
            "Authorization": f"Bearer {stack.settings.bridge_admin_token.get_secret_value()}"
        }
        self.employee: dict[str, Any] = {}

    async def run(self) -> bool:
        steps = (self.provisioning, self.whatsapp, self.email, self.unified_view, self.security)
        for step in steps:
            try:
                await step()
            except (httpx.HTTPError, KeyError, ValueError, AssertionError) as exc:
                self.report.record(
                    f"{step.__name__} stopped", False, f"{type(exc).__name__}: {exc}"
                )
        return self.report.all_passed

    async def _chatwoot_state(self) -> dict[str, Any]:
        state: dict[str, Any] = (
            await self.http.get(f"{self.sims.urls['chatwoot']}/_sim/chatwoot/state")
        ).json()
        return state

    # 1 ----------------------------------------------------------------------------------
    async def provisioning(self) -> None:
        r = self.report
        r.section("1. Provisioning: a new employee, John Smith (DTV)")
        response = await self.http.post(
            f"{self.stack.bridge_url}/api/employees",
            json={
                "first_name": "John",
                "last_name": "Smith",
                "personal_email": "john.smith.home@example.org",
                "department": "DTV",
                "role": "agent",
            },
            headers=self.admin,
        )
        self.employee = response.json()
        r.record(
            "employee created",
            response.status_code == 201 and self.employee.get("status") == "active",
            f"HTTP {response.status_code}, username {self.employee.get('username')}, "
            f"steps {self.employee.get('steps')}",
        )
        email = self.employee.get("email", "")
        mailcow = (await self.http.get(f"{self.sims.urls['mailcow']}/_sim/mailcow/state")).json()
        mailboxes = [m.get("username") for m in mailcow.get("mailboxes", [])]
        r.record("Mailcow mailbox exists", email in mailboxes, f"mailbox {email}")
        users = (await self._chatwoot_state())["users"]
        agent = next((u for u in users if u.get("email") == email), None)
        r.record(
            "Chatwoot agent exists (confirmed)",
            agent is not None and bool(agent.get("confirmed")),
            f"user id {agent.get('id') if agent else None}",
        )
        link = await self._invite_link()
        r.record("invite mail received", link is not None, f"link {_shorten(link)}")
        if link is None:
            return
        local = link.replace(
            self.stack.settings.bridge_public_url.unicode_string().rstrip("/"),
            self.stack.bridge_url,
        )
        form = await self.http.get(local)
        posted = await self.http.post(
            local, data={"password": STAFF_PASSWORD, "password_confirm": STAFF_PASSWORD}
        )
        r.record(
            "password set via the link",
            form.status_code == 200 and posted.status_code in (200, 302, 303),
            f"GET {form.status_code}, POST {posted.status_code}",
        )

    async def _invite_link(self) -> str | None:
        async def probe() -> str | None:
            messages = (
                await self.http.get(f"{self.sims.urls['smtp_inspect']}/_sim/smtp/messages")
            ).json()
            for message in messages:
                if "john.smith.home@example.org" in message.get("to", []):
                    found = LINK.search(message.get("body", ""))
                    if found:
                        return found.group(0)
            return None

        return await _eventually(probe)

    # 2 ----------------------------------------------------------------------------------
    async def whatsapp(self) -> None:
        r = self.report
        r.section('2. WhatsApp: a customer writes "Hi" and picks DTV')
        evolution = self.sims.urls["evolution"]

        async def say(text: str) -> None:
            await self.http.post(
                f"{evolution}/_sim/evolution/inbound",
                json={"from_phone": CUSTOMER_PHONE, "push_name": "Thandi", "text": text},
            )

        async def sent_texts(count: int) -> list[str] | None:
            sent = (await self.http.get(f"{evolution}/_sim/evolution/sent")).json()
            texts = [
                s["request"].get("text", "")
                for s in sent
                if CUSTOMER_PHONE in s["request"].get("number", "")
            ]
            return texts if len(texts) >= count else None

        await say("Hi")
        menu = await _eventually(lambda: sent_texts(2))
        r.record("Typebot menu sent to the phone", menu is not None, *(menu or []))
        await say("DTV")

        async def conversation() -> dict[str, Any] | None:
            for c in (await self._chatwoot_state())["conversations"]:
                if (c.get("contact_inbox") or {}).get("source_id", "").startswith(CUSTOMER_PHONE):
                    return c if len(c["messages"]) >= 5 else None
            return None

        found = await _eventually(conversation)
        state = await self._chatwoot_state()
        dtv = next(i for i in state["inboxes"] if i["name"] == "DTV WhatsApp")
        contents = [m["content"] for m in (found or {}).get("messages", [])]
        in_order = contents[:1] == ["Hi"] and "DTV" in contents[3:4] and len(contents) >= 4
        r.record(
            "conversation in the DTV inbox with Hi, the menu and the choice in order",
            found is not None and found["inbox_id"] == dtv["id"] and in_order,
            *(f"#{i + 1} {c!r}" for i, c in enumerate(contents)),
        )

    # 3 ----------------------------------------------------------------------------------
    async def email(self) -> None:
        r = self.report
        r.section("3. Email: a customer writes to support.dtv")
        response = await self.http.post(
            f"{self.sims.urls['chatwoot']}/_sim/chatwoot/email",
            json={
                "to": "support.dtv@mmallelectronics.co.za",
                "from": "customer@example.org",
                "subject": "Decoder not working",
                "body": "My decoder shows E16.",
            },
        )
        conversation = response.json()
        r.record(
            "email conversation in the DTV email inbox",
            response.status_code == 201,
            f"conversation #{conversation.get('id')} in inbox {conversation.get('inbox_id')}",
        )
        replies = (await self._chatwoot_state())["emails_sent"]
        reply = next(
            (e for e in replies if e.get("conversation_id") == conversation.get("id")), None
        )
        body = (reply or {}).get("body", "")
        r.record(
            "auto-reply with the ticket number sent",
            reply is not None and f"#{conversation.get('id')}" in body,
            f"to {(reply or {}).get('to')}: {body!r}",
        )

    # 4 ----------------------------------------------------------------------------------
    async def unified_view(self) -> None:
        r = self.report
        r.section("4. Unified view: John sees both conversations in DTV")
        state = await self._chatwoot_state()
        email = self.employee.get("email")
        agent = next((u for u in state["users"] if u.get("email") == email), None)
        dtv_inboxes = [i for i in state["inboxes"] if i["name"].startswith("DTV")]
        member_of = [
            i["name"] for i in dtv_inboxes if agent and agent["id"] in i.get("members", [])
        ]
        kinds = {
            i["channel_type"]
            for i in dtv_inboxes
            for c in state["conversations"]
            if c["inbox_id"] == i["id"]
        }
        r.record(
            "John is a member of the DTV WhatsApp and email inboxes",
            len(member_of) == len(dtv_inboxes) == 2,
            f"member of {member_of}",
        )
        r.record(
            "the DTV inboxes hold a WhatsApp and an email conversation",
            {"Channel::Api", "Channel::Email"} <= kinds,
            f"channels {sorted(kinds)}",
        )
        login = await self.http.post(
            f"{self.stack.bridge_url}/auth/login",
            data={"login": self.employee.get("username", ""), "password": STAFF_PASSWORD},
        )
        sso = await self.http.get(
            f"{self.stack.bridge_url}/sso/chatwoot", params={"format": "json"}
        )
        url = sso.json().get("url", "") if sso.status_code == 200 else ""
        landed = await self.http.get(url) if url else None
        r.record(
            "as John: single sign-on into Chatwoot",
            landed is not None and landed.status_code == 200 and (email or "-") in landed.text,
            f"login {login.status_code}, sso {sso.status_code}, {_shorten(url)}",
        )

    # 5 ----------------------------------------------------------------------------------
    async def security(self) -> None:
        r = self.report
        r.section("5. Security")
        async with httpx.AsyncClient(follow_redirects=False) as anonymous:
            hub = await anonymous.get(f"{self.stack.bridge_url}/hub/")
            sso = await anonymous.get(
                f"{self.stack.bridge_url}/sso/chatwoot", headers={"Accept": "application/json"}
            )
            webhook = await anonymous.post(
                f"{self.stack.bridge_url}/webhooks/evolution",
                json={"event": "messages.upsert", "instance": "x", "data": {}},
                headers={"X-Webhook-Secret": "not-the-secret"},
            )
        r.record(
            "the inbox without login is refused or redirected to login",
            hub.status_code in (302, 303)
            and "login" in hub.headers.get("Location", "")
            and sso.status_code == 401,
            f"/hub/ → {hub.status_code} {hub.headers.get('Location')}",
            f"/sso/chatwoot → {sso.status_code}",
        )
        r.record(
            "a webhook with a wrong secret is refused",
            webhook.status_code == 401,
            f"/webhooks/evolution → {webhook.status_code}",
        )


def _shorten(url: str | None) -> str:
    if not url:
        return "-"
    return re.sub(r"(token=|onboarding/)[A-Za-z0-9_\-]{6,}", r"\1…", url)
