"""Setup-side Chatwoot calls (inboxes, teams, members, bots, rules, webhooks) vs the swagger."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from bridge.clients.chatwoot import ChatwootClient
from tests.clients.spec import chatwoot_spec

BASE = "https://cw.test"
TOKEN = "cw-admin-token-abcdef"
ACC = "/api/v1/accounts/1"
INBOX = {
    "id": 7,
    "name": "WhatsApp DTV",
    "channel_type": "Channel::Api",
    "webhook_url": "https://b.test/webhooks/chatwoot",
    "secret": "inbox-signing-secret",
}
AGENT = {"id": 3, "name": "Alex", "email": "alex@example.com", "role": "agent"}
RULE = {
    "id": 4,
    "name": "Email auto-ack",
    "event_name": "conversation_created",
    "active": True,
    "conditions": [],
    "actions": [],
}
HOOK = {
    "id": 2,
    "url": "https://b.test/webhooks/chatwoot",
    "subscriptions": ["message_created"],
    "secret": "hook-secret",
}


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE)


@pytest.fixture
def client(router: respx.Router) -> ChatwootClient:
    return ChatwootClient(
        base_url=BASE, api_token=TOKEN, account_id=1, transport=httpx.MockTransport(router.handler)
    )


def body_of(route: respx.Route) -> Any:
    request = route.calls.last.request
    assert request.headers["api_access_token"] == TOKEN
    chatwoot_spec().validate(request)
    return json.loads(request.content) if request.content else None


async def test_inboxes(router: respx.Router, client: ChatwootClient) -> None:
    listing = router.get(f"{ACC}/inboxes").respond(200, json={"payload": [INBOX]})
    create = router.post(f"{ACC}/inboxes").respond(200, json=INBOX)
    update = router.patch(f"{ACC}/inboxes/7").respond(200, json=INBOX)
    inboxes = await client.list_inboxes()
    body_of(listing)
    assert inboxes[0].secret is not None
    assert inboxes[0].secret.get_secret_value() == "inbox-signing-secret"
    assert "inbox-signing-secret" not in repr(inboxes[0])
    await client.create_api_inbox("WhatsApp DTV", "https://b.test/webhooks/chatwoot")
    body = body_of(create)
    assert body["channel"] == {
        "type": "api",
        "webhook_url": "https://b.test/webhooks/chatwoot",
        "hmac_mandatory": False,
    }
    await client.update_inbox(7, webhook_url="https://b.test/new")
    assert body_of(update) == {"channel": {"webhook_url": "https://b.test/new"}}


async def test_teams_and_members(router: respx.Router, client: ChatwootClient) -> None:
    teams = router.get(f"{ACC}/teams").respond(200, json=[{"id": 1, "name": "dtv"}])
    create = router.post(f"{ACC}/teams").respond(200, json={"id": 1, "name": "dtv"})
    members = router.post(f"{ACC}/teams/1/team_members").respond(200, json=[AGENT])
    inbox_members = router.post(f"{ACC}/inbox_members").respond(200, json={"payload": [AGENT]})
    list_inbox_members = router.get(f"{ACC}/inbox_members/7").respond(
        200, json={"payload": [AGENT]}
    )
    agents = router.get(f"{ACC}/agents").respond(200, json=[AGENT])
    assert [t.name for t in await client.list_teams()] == ["dtv"]
    body_of(teams)
    assert (await client.create_team("DTV")).id == 1
    assert body_of(create)["name"] == "DTV"
    assert [a.id for a in await client.add_team_members(1, [3])] == [3]
    assert body_of(members) == {"user_ids": [3]}
    await client.add_inbox_members(7, [3])
    assert body_of(inbox_members) == {"inbox_id": 7, "user_ids": [3]}
    assert [a.email for a in await client.list_inbox_members(7)] == ["alex@example.com"]
    body_of(list_inbox_members)
    assert len(await client.list_agents()) == 1
    body_of(agents)


async def test_agent_bots(router: respx.Router, client: ChatwootClient) -> None:
    bot = {
        "id": 2,
        "name": "Typebot bridge",
        "outgoing_url": "https://b.test/x",
        "access_token": "bot-token",
        "secret": "bot-secret",
    }
    create = router.post(f"{ACC}/agent_bots").respond(200, json=bot)
    listing = router.get(f"{ACC}/agent_bots").respond(200, json=[bot])
    attach = router.post(f"{ACC}/inboxes/7/set_agent_bot").respond(200, text="")
    created = await client.create_agent_bot("Typebot bridge", "https://b.test/x")
    body_of(create)
    assert created.secret is not None
    assert created.secret.get_secret_value() == "bot-secret"
    assert len(await client.list_agent_bots()) == 1
    body_of(listing)
    await client.set_inbox_agent_bot(7, 2)
    assert body_of(attach) == {"agent_bot": 2}


async def test_automation_rules(router: respx.Router, client: ChatwootClient) -> None:
    rule_body = {
        "name": "Email auto-ack",
        "description": "Acknowledge new email tickets",
        "event_name": "conversation_created",
        "active": True,
        "conditions": [
            {
                "attribute_key": "inbox_id",
                "filter_operator": "equal_to",
                "values": [12],
                "query_operator": None,
            }
        ],
        "actions": [
            {
                "action_name": "send_message",
                "action_params": ["Reference Ticket #{{conversation.display_id}}"],
            }
        ],
    }
    listing = router.get(f"{ACC}/automation_rules").respond(200, json={"payload": [RULE]})
    create = router.post(f"{ACC}/automation_rules").respond(200, json=RULE)
    update = router.patch(f"{ACC}/automation_rules/4").respond(200, json={"payload": RULE})
    assert [r.id for r in await client.list_automation_rules()] == [4]
    body_of(listing)
    assert (await client.create_automation_rule(rule_body)).id == 4
    assert body_of(create) == rule_body
    assert (await client.update_automation_rule(4, {"active": False})).name == "Email auto-ack"
    assert body_of(update) == {"active": False}


async def test_account_webhooks(router: respx.Router, client: ChatwootClient) -> None:
    listing = router.get(f"{ACC}/webhooks").respond(200, json={"payload": {"webhooks": [HOOK]}})
    create = router.post(f"{ACC}/webhooks").respond(200, json={"payload": {"webhook": HOOK}})
    update = router.patch(f"{ACC}/webhooks/2").respond(200, json={"payload": {"webhook": HOOK}})
    assert [h.id for h in await client.list_webhooks()] == [2]
    body_of(listing)
    created = await client.create_webhook(HOOK["url"], ["message_created"])
    assert created.secret is not None
    assert created.secret.get_secret_value() == "hook-secret"
    assert body_of(create)["subscriptions"] == ["message_created"]
    await client.update_webhook(2, url=HOOK["url"], subscriptions=["message_created"])
    body_of(update)


async def test_account_profile_version(router: respx.Router, client: ChatwootClient) -> None:
    account = router.get(ACC).respond(200, json={"id": 1, "name": "Example Co", "locale": "en"})
    profile = router.get("/api/v1/profile").respond(
        200, json={"id": 1, "email": "admin@example.com", "role": "administrator"}
    )
    router.get("/api").respond(200, json={"version": "4.15.1", "timestamp": "x"})
    assert (await client.get_account()).name == "Example Co"
    body_of(account)
    assert (await client.get_profile()).role == "administrator"
    body_of(profile)
    # `GET /api` is Chatwoot's unauthenticated status route; the swagger does not list it.
    assert (await client.get_version()).version == "4.15.1"
    assert chatwoot_spec().find("GET", "/api") is None
