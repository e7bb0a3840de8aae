"""`chatwoot.ensure_conversation`: fewest calls for a new contact, every lookup for a known one."""

from __future__ import annotations

from typing import Any

import httpx
import respx
from aiohttp import web

from bridge.delivery.handlers.chatwoot import chatwoot_routes
from bridge.flows import effects
from bridge.keys import UPSTREAMS
from bridge.state.records import OutboxItem
from bridge.upstreams import UpstreamTransports, build_upstreams
from tests.factories import make_settings
from tests.fakes import FakeClock

ACC = "http://chatwoot.test/api/v1/accounts/1"
JID = "27830000001@s.whatsapp.net"
CONTACT = {"id": 205, "name": "Thandi", "identifier": JID, "phone_number": "+27830000001"}
PAYLOAD = {
    "inbox_id": 7,
    "name": "Thandi",
    "identifier": JID,
    "phone": "+27830000001",
    "source_id": JID,
    "team_id": 3,
    "labels": ["dtv"],
}


def conversation(conversation_id: int, status: str) -> dict[str, Any]:
    return {"id": conversation_id, "inbox_id": 7, "status": status, "contact_inbox": {}}


async def ensure(router: respx.Router) -> dict[str, Any]:
    app = web.Application()
    app[UPSTREAMS] = build_upstreams(
        make_settings(),
        UpstreamTransports(chatwoot=httpx.MockTransport(router.handler)),
        FakeClock(),
    )
    try:
        handler = chatwoot_routes(app)[effects.ENSURE_CONVERSATION].handler
        delivered = await handler(
            OutboxItem(effects.ENSURE_CONVERSATION, "k", dict(PAYLOAD), 1, attempts=1)
        )
    finally:
        await app[UPSTREAMS].aclose()
    return delivered.result


def calls(router: respx.Router) -> list[str]:
    return [f"{c.request.method} {c.request.url.path}" for c in router.calls]


async def test_new_contact_takes_three_calls() -> None:
    router = respx.Router(assert_all_called=False)
    router.post(f"{ACC}/contacts").respond(
        200, json={"payload": {"contact": CONTACT, "contact_inbox": {"source_id": JID}}}
    )
    router.post(f"{ACC}/conversations").respond(200, json=conversation(31, "open"))
    labels = router.post(f"{ACC}/conversations/31/labels").respond(200, json={"payload": ["dtv"]})
    router.route().respond(500, json={"error": "not expected"})

    result = await ensure(router)

    assert result == {"cw_contact_id": 205, "cw_conversation_id": 31, "cw_inbox_id": 7}
    assert calls(router) == [
        "POST /api/v1/accounts/1/contacts",
        "POST /api/v1/accounts/1/conversations",
        "POST /api/v1/accounts/1/conversations/31/labels",
    ]
    assert labels.calls.last.request.content == b'{"labels":["dtv"]}'


async def test_known_contact_reuses_its_open_conversation_and_keeps_its_labels() -> None:
    router = respx.Router(assert_all_called=False)
    router.post(f"{ACC}/contacts").respond(
        422, json={"message": "Identifier has already been taken"}
    )
    router.post(f"{ACC}/contacts/filter").respond(200, json={"payload": [CONTACT]})
    router.post(f"{ACC}/contacts/205/contact_inboxes").respond(
        422, json={"message": "source_id has already been taken"}
    )
    router.get(f"{ACC}/contacts/205/conversations").respond(
        200, json={"payload": [conversation(30, "resolved"), conversation(31, "pending")]}
    )
    router.post(f"{ACC}/conversations/31/toggle_status").respond(
        200, json={"payload": {"success": True, "conversation_id": 31, "current_status": "open"}}
    )
    router.post(f"{ACC}/conversations/31/assignments").respond(200, json={})
    router.get(f"{ACC}/conversations/31/labels").respond(200, json={"payload": ["vip"]})
    labels = router.post(f"{ACC}/conversations/31/labels").respond(
        200, json={"payload": ["dtv", "vip"]}
    )
    router.route().respond(500, json={"error": "not expected"})

    result = await ensure(router)

    assert result["cw_conversation_id"] == 31
    assert "POST /api/v1/accounts/1/conversations" not in calls(router)
    assert labels.calls.last.request.content == b'{"labels":["dtv","vip"]}'
