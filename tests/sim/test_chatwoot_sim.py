"""Chatwoot simulator: auth, inbox/contact/conversation/message flow, signed webhooks, SSO."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import aiohttp
import pytest

from bridge.sim.chatwoot import create_chatwoot_app
from bridge.sim.chatwoot_dispatch import sign
from tests.contracts_dir import load_contract
from tests.sim.receiver import Receiver

TOKEN, PLATFORM = "admin-token", "platform-token"
H = {"api_access_token": TOKEN}
P = {"api_access_token": PLATFORM}
A = "/api/v1/accounts/1"
EX = "chatwoot/examples/"


def verify(secret: str, headers: dict[str, str], raw: bytes) -> bool:
    """The receiver's check, written from the test vector's description."""
    ts = headers["X-Chatwoot-Timestamp"]
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Chatwoot-Signature"], f"sha256={expected}")


@pytest.fixture
async def cw(aiohttp_client: Any) -> Any:
    return await aiohttp_client(create_chatwoot_app(api_token=TOKEN, platform_token=PLATFORM))


async def _setup(cw: Any, aiohttp_server: Any) -> tuple[Receiver, dict[str, Any], int, int]:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    resp = await cw.post(
        f"{A}/inboxes",
        headers=H,
        json={
            "name": "DTV WhatsApp",
            "channel": {"type": "api", "webhook_url": str(server.make_url("/webhooks/chatwoot"))},
        },
    )
    inbox = await resp.json()
    resp = await cw.post(
        f"{A}/contacts",
        headers=H,
        json={
            "name": "Thandi",
            "phone_number": "+27821234567",
            "identifier": "27821234567@s.whatsapp.net",
        },
    )
    contact_id = (await resp.json())["payload"]["contact"]["id"]
    resp = await cw.post(
        f"{A}/conversations",
        headers=H,
        json={
            "inbox_id": inbox["id"],
            "contact_id": contact_id,
            "source_id": "27821234567@s.whatsapp.net",
            "status": "open",
        },
    )
    conv_id = (await resp.json())["id"]
    return receiver, inbox, contact_id, conv_id


def test_signing_reproduces_the_contract_test_vector() -> None:
    vector = load_contract(EX + "webhook_signature.test_vector.json")
    ts = vector["headers"]["X-Chatwoot-Timestamp"]
    got = sign(vector["secret"], ts, vector["raw_body"].encode())
    assert got == vector["headers"]["X-Chatwoot-Signature"]


async def test_auth_errors(cw: Any) -> None:
    resp = await cw.get(f"{A}/contacts")
    assert resp.status == 401
    assert (await resp.json())["error"] == "You need to sign in or sign up before continuing."
    resp = await cw.get(f"{A}/contacts", headers={"api_access_token": "bad"})
    assert (resp.status, (await resp.json())["error"]) == (401, "Invalid Access Token")
    resp = await cw.get("/platform/api/v1/users/1", headers=H)
    assert (resp.status, (await resp.json())["error"]) == (401, "Invalid access_token")


async def test_api_messages_are_echoed_signed_and_shaped_like_the_sample(
    cw: Any, aiohttp_server: Any
) -> None:
    receiver, inbox, _, conv_id = await _setup(cw, aiohttp_server)
    assert inbox["channel_type"] == "Channel::Api"
    assert inbox["secret"]
    resp = await cw.post(
        f"{A}/conversations/{conv_id}/messages",
        headers=H,
        json={"content": "Hi", "message_type": "incoming", "source_id": "WAID:ABC"},
    )
    assert resp.status == 200
    created = await resp.json()
    assert created["message_type"] == 0
    assert created["source_id"] == "WAID:ABC"
    resp = await cw.post(
        f"{A}/conversations/{conv_id}/messages",
        headers=H,
        json={"content": "Hello Thandi", "message_type": "outgoing"},
    )
    deliveries = await (await cw.get("/_sim/chatwoot/deliveries")).json()
    assert [d["event"] for d in deliveries] == [
        "conversation_created",
        "message_created",
        "message_created",
    ]
    sample = load_contract(EX + "api_inbox.message_created.outgoing.json")
    last = receiver.requests[-1]
    assert verify(inbox["secret"], last["headers"], last["raw"])
    body = json.loads(last["raw"])
    assert set(body) == set(sample)
    assert set(body["conversation"]) == set(sample["conversation"])
    assert set(body["sender"]) == set(sample["sender"])
    assert (body["message_type"], body["content"]) == ("outgoing", "Hello Thandi")
    echo = json.loads(receiver.requests[1]["raw"])
    assert (echo["message_type"], echo["source_id"]) == ("incoming", "WAID:ABC")
    assert echo["conversation"]["contact_inbox"]["source_id"] == "27821234567@s.whatsapp.net"


async def test_toggle_status_sends_status_changed(cw: Any, aiohttp_server: Any) -> None:
    receiver, _inbox, _, conv_id = await _setup(cw, aiohttp_server)
    resp = await cw.post(
        f"{A}/conversations/{conv_id}/toggle_status", headers=H, json={"status": "resolved"}
    )
    assert (await resp.json())["payload"]["current_status"] == "resolved"
    await cw.get("/_sim/chatwoot/deliveries")
    body = json.loads(receiver.requests[-1]["raw"])
    sample = load_contract(EX + "conversation_status_changed.bot_handoff.json")
    assert set(body) == set(sample)
    assert (body["event"], body["status"]) == ("conversation_status_changed", "resolved")


async def test_failed_delivery_marks_the_message_failed(cw: Any, aiohttp_server: Any) -> None:
    receiver, _, _, conv_id = await _setup(cw, aiohttp_server)
    receiver.statuses.extend([200, 500])  # conversation_created ok, message fails
    resp = await cw.post(
        f"{A}/conversations/{conv_id}/messages",
        headers=H,
        json={"content": "x", "message_type": "incoming"},
    )
    msg_id = (await resp.json())["id"]
    state = await (await cw.get("/_sim/chatwoot/state")).json()
    msg = next(m for m in state["conversations"][0]["messages"] if m["id"] == msg_id)
    assert msg["status"] == "failed"


async def test_contacts_search_filter_labels_and_multipart(cw: Any, aiohttp_server: Any) -> None:
    _, inbox, contact_id, conv_id = await _setup(cw, aiohttp_server)
    found = await (await cw.get(f"{A}/contacts/search", params={"q": "+2782"}, headers=H)).json()
    assert [c["id"] for c in found["payload"]] == [contact_id]
    resp = await cw.post(f"{A}/contacts", headers=H, json={"phone_number": "0821234567"})
    assert (resp.status, (await resp.json())["attributes"]) == (422, ["phone_number"])
    flt = {
        "payload": [
            {
                "attribute_key": "identifier",
                "filter_operator": "equal_to",
                "values": ["27821234567@s.whatsapp.net"],
                "query_operator": None,
            }
        ]
    }
    resp = await cw.post(f"{A}/contacts/filter", headers=H, json=flt)
    assert (await resp.json())["meta"]["count"] == 1
    resp = await cw.post(
        f"{A}/conversations/{conv_id}/labels", headers=H, json={"labels": ["whatsapp", "DTV"]}
    )
    assert (await resp.json())["payload"] == ["dtv", "whatsapp"]
    form = aiohttp.FormData()
    form.add_field("content", "photo")
    form.add_field("message_type", "outgoing")
    form.add_field("attachments[]", b"\x89PNG", filename="a.png", content_type="image/png")
    resp = await cw.post(f"{A}/conversations/{conv_id}/messages", headers=H, data=form)
    att = (await resp.json())["attachments"][0]
    assert att["file_type"] == "image"
    blob = await cw.get(att["data_url"].split("127.0.0.1:3000", 1)[1])
    assert await blob.read() == b"\x89PNG"
    resp = await cw.post(
        f"{A}/contacts/{contact_id}/contact_inboxes",
        headers=H,
        json={"inbox_id": inbox["id"], "source_id": "other@s.whatsapp.net"},
    )
    assert (await resp.json())["source_id"] == "other@s.whatsapp.net"


async def test_bot_tokens_are_limited(cw: Any) -> None:
    bot = await (await cw.post(f"{A}/agent_bots", headers=H, json={"name": "tb"})).json()
    resp = await cw.get(f"{A}/contacts", headers={"api_access_token": bot["access_token"]})
    assert (resp.status, (await resp.json())["error"]) == (
        401,
        "Access to this endpoint is not authorized for bots",
    )


async def test_email_auto_reply_rule_uses_display_id(cw: Any) -> None:
    resp = await cw.post(
        f"{A}/inboxes",
        headers=H,
        json={
            "name": "DTV email",
            "channel": {
                "type": "email",
                "email": "support.dtv@mmallelectronics.co.za",
                "imap_enabled": True,
                "imap_address": "mail.example",
                "imap_port": 993,
            },
        },
    )
    inbox = await resp.json()
    assert inbox["channel_type"] == "Channel::Email"
    rule = {
        "name": "ack",
        "event_name": "conversation_created",
        "active": True,
        "conditions": [
            {
                "attribute_key": "inbox_id",
                "filter_operator": "equal_to",
                "values": [inbox["id"]],
                "query_operator": None,
            }
        ],
        "actions": [
            {
                "action_name": "send_message",
                "action_params": [
                    "Thank you for emailing DTV. Reference Ticket #{{conversation.display_id}}."
                ],
            }
        ],
    }
    assert (await cw.post(f"{A}/automation_rules", headers=H, json=rule)).status == 200
    resp = await cw.post(
        "/_sim/chatwoot/email",
        json={
            "to": "Support.DTV@mmallelectronics.co.za",
            "from": "customer@example.org",
            "subject": "TV broken",
            "body": "My decoder is dead",
        },
    )
    conv = await resp.json()
    state = await (await cw.get("/_sim/chatwoot/state")).json()
    messages = state["conversations"][0]["messages"]
    assert [m["content"] for m in messages] == [
        "My decoder is dead",
        f"Thank you for emailing DTV. Reference Ticket #{conv['id']}.",
    ]
    assert state["emails_sent"][0]["to"] == "customer@example.org"


async def test_platform_user_and_one_time_sso(cw: Any) -> None:
    resp = await cw.post(
        "/platform/api/v1/users",
        headers=P,
        json={
            "name": "Kay Ntulo",
            "email": "kay.ntulo@mmallelectronics.co.za",
            "password": "Str0ng!Passw0rd",
        },
    )
    user = await resp.json()
    assert set(user) == set(load_contract(EX + "platform.users.create.response.json"))
    assert user["confirmed"] is True
    resp = await cw.post(
        "/platform/api/v1/accounts/1/account_users",
        headers=P,
        json={"user_id": user["id"], "role": "agent"},
    )
    assert (await resp.json())["role"] == "agent"
    urls = [
        (await (await cw.get(f"/platform/api/v1/users/{user['id']}/login", headers=P)).json())[
            "url"
        ]
        for _ in range(2)
    ]
    assert urls[0] != urls[1]
    assert re.fullmatch(
        r"http://127\.0\.0\.1:3000/app/login\?email=kay\.ntulo%40"
        r"mmallelectronics\.co\.za&sso_auth_token=[0-9a-f]{64}",
        urls[0],
    )
    path = urls[0].split("127.0.0.1:3000", 1)[1]
    first = await cw.get(path)
    assert first.status == 200
    assert "Signed in as kay.ntulo@mmallelectronics.co.za" in await first.text()
    assert (await cw.get(path)).status == 401
    agents = await (await cw.get(f"{A}/agents", headers=H)).json()
    assert "kay.ntulo@mmallelectronics.co.za" in [a["email"] for a in agents]
    token = await (await cw.post(f"/platform/api/v1/users/{user['id']}/token", headers=P)).json()
    assert set(token) == set(load_contract(EX + "platform.users.token.response.json"))


async def test_bot_inbox_starts_pending_and_bot_and_account_hooks_are_signed(
    cw: Any, aiohttp_server: Any
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    bot = await (
        await cw.post(
            f"{A}/agent_bots",
            headers=H,
            json={"name": "tb", "outgoing_url": str(server.make_url("/bot"))},
        )
    ).json()
    hook = (
        await (
            await cw.post(
                f"{A}/webhooks",
                headers=H,
                json={
                    "url": str(server.make_url("/account")),
                    "subscriptions": ["message_created"],
                },
            )
        ).json()
    )["payload"]["webhook"]
    inbox = await (
        await cw.post(
            f"{A}/inboxes",
            headers=H,
            json={"name": "Sales", "channel": {"type": "api", "webhook_url": ""}},
        )
    ).json()
    resp = await cw.post(
        f"{A}/inboxes/{inbox['id']}/set_agent_bot", headers=H, json={"agent_bot": bot["id"]}
    )
    assert resp.status == 200
    contact = (
        await (
            await cw.post(f"{A}/contacts", headers=H, json={"name": "X", "inbox_id": inbox["id"]})
        ).json()
    )["payload"]
    source_id = contact["contact_inbox"]["source_id"]
    conv = await (
        await cw.post(
            f"{A}/conversations",
            headers=H,
            json={
                "inbox_id": inbox["id"],
                "contact_id": contact["contact"]["id"],
                "source_id": source_id,
                "status": "open",
            },
        )
    ).json()
    assert conv["status"] == "pending"
    bot_headers = {"api_access_token": bot["access_token"]}
    resp = await cw.post(
        f"{A}/conversations/{conv['id']}/messages",
        headers=bot_headers,
        json={"content": "Choose a department"},
    )
    assert resp.status == 200
    await cw.get("/_sim/chatwoot/deliveries")
    by_path = {r["path"]: r for r in receiver.requests}
    assert verify(bot["secret"], by_path["/bot"]["headers"], by_path["/bot"]["raw"])
    assert verify(hook["secret"], by_path["/account"]["headers"], by_path["/account"]["raw"])
    assert json.loads(by_path["/bot"]["raw"])["sender"]["type"] == "agent_bot"


async def test_teams_and_inbox_members(cw: Any) -> None:
    user = await (
        await cw.post(
            "/platform/api/v1/users",
            headers=P,
            json={"name": "A B", "email": "a.b@mmallelectronics.co.za", "password": "Str0ng!Pass"},
        )
    ).json()
    await cw.post(
        "/platform/api/v1/accounts/1/account_users",
        headers=P,
        json={"user_id": user["id"], "role": "agent"},
    )
    team = await (await cw.post(f"{A}/teams", headers=H, json={"name": "DTV"})).json()
    assert team["name"] == "dtv"
    added = await (
        await cw.post(
            f"{A}/teams/{team['id']}/team_members", headers=H, json={"user_ids": [user["id"]]}
        )
    ).json()
    assert [a["id"] for a in added] == [user["id"]]
    resp = await cw.post(
        f"{A}/teams/{team['id']}/team_members", headers=H, json={"user_ids": [999]}
    )
    assert (resp.status, (await resp.json())["error"]) == (401, "Invalid User IDs")
    inbox = await (
        await cw.post(
            f"{A}/inboxes",
            headers=H,
            json={"name": "DTV", "channel": {"type": "api", "webhook_url": ""}},
        )
    ).json()
    resp = await cw.post(
        f"{A}/inbox_members", headers=H, json={"inbox_id": inbox["id"], "user_ids": [user["id"]]}
    )
    assert [a["email"] for a in (await resp.json())["payload"]] == ["a.b@mmallelectronics.co.za"]
    listed = await (await cw.get(f"{A}/inbox_members/{inbox['id']}", headers=H)).json()
    assert len(listed["payload"]) == 1
