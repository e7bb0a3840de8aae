"""ChatwootClient requests validated against Chatwoot's swagger (4.15.1)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from bridge.clients.chatwoot import ChatwootClient, CwUpload
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from tests.clients.spec import chatwoot_spec
from tests.contracts_dir import load_contract

BASE = "https://cw.test"
TOKEN = "cw-admin-token-abcdef"
ACC = "/api/v1/accounts/1"
CONTACT = {
    "id": 205,
    "name": "Maria",
    "phone_number": "+15550100123",
    "identifier": "15550100123@s.whatsapp.net",
}
CONVERSATION: dict[str, Any] = {
    k: v
    for k, v in load_contract(
        "chatwoot/examples/conversation_status_changed.bot_handoff.json"
    ).items()
    if k not in ("event", "changed_attributes")
}


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE)


@pytest.fixture
def client(router: respx.Router) -> ChatwootClient:
    return ChatwootClient(
        base_url=BASE, api_token=TOKEN, account_id=1, transport=httpx.MockTransport(router.handler)
    )


def checked(route: respx.Route) -> tuple[httpx.Request, Any]:
    """The last request of `route`, after validating it against the swagger."""
    request = route.calls.last.request
    assert request.headers["api_access_token"] == TOKEN
    assert TOKEN not in str(request.url)
    chatwoot_spec().validate(request)
    body = (
        json.loads(request.content)
        if request.headers.get("content-type", "").startswith("application/json")
        else None
    )
    return request, body


async def test_create_contact(router: respx.Router, client: ChatwootClient) -> None:
    route = router.post(f"{ACC}/contacts").respond(
        200,
        json={
            "payload": {"contact": CONTACT, "contact_inbox": {"source_id": CONTACT["identifier"]}}
        },
    )
    found = await client.create_contact(
        7,
        name="Maria",
        identifier=CONTACT["identifier"],
        phone_number="+15550100123",
        source_id=CONTACT["identifier"],
    )
    _, body = checked(route)
    assert body["inbox_id"] == 7
    assert body["phone_number"] == "+15550100123"
    assert found.contact.id == 205
    assert found.created
    assert found.in_inbox


async def test_create_contact_with_another_source_id_is_not_in_the_inbox(
    router: respx.Router, client: ChatwootClient
) -> None:
    router.post(f"{ACC}/contacts").respond(
        200, json={"payload": {"contact": CONTACT, "contact_inbox": {"source_id": "other"}}}
    )
    found = await client.create_contact(
        7, name="Maria", identifier=CONTACT["identifier"], source_id=CONTACT["identifier"]
    )
    assert found.created
    assert not found.in_inbox


async def test_create_contact_already_taken_adopts(
    router: respx.Router, client: ChatwootClient
) -> None:
    router.post(f"{ACC}/contacts").respond(
        422, json={"message": "Identifier has already been taken", "attributes": ["identifier"]}
    )
    search = router.post(f"{ACC}/contacts/filter").respond(
        200, json={"meta": {"count": 1}, "payload": [CONTACT]}
    )
    found = await client.create_contact(7, name="Maria", identifier=CONTACT["identifier"])
    _, body = checked(search)
    assert body["payload"][0]["attribute_key"] == "identifier"
    assert found.contact.id == 205
    assert not found.created
    assert not found.in_inbox


async def test_create_contact_other_422_is_permanent(
    router: respx.Router, client: ChatwootClient
) -> None:
    router.post(f"{ACC}/contacts").respond(422, json={"message": "Phone number should be in e164"})
    with pytest.raises(PermanentDeliveryError):
        await client.create_contact(7, name="M", identifier="x@s.whatsapp.net")


async def test_phone_must_be_e164(router: respx.Router, client: ChatwootClient) -> None:
    with pytest.raises(ValueError, match=r"E\.164"):
        await client.create_contact(7, name="M", identifier="x", phone_number="155 501")
    assert router.calls.call_count == 0


async def test_search_and_contact_inbox(router: respx.Router, client: ChatwootClient) -> None:
    search = router.get(f"{ACC}/contacts/search").respond(200, json={"payload": [CONTACT]})
    inbox = router.post(f"{ACC}/contacts/205/contact_inboxes").respond(
        200, json={"source_id": "15550100123@s.whatsapp.net", "inbox": {"id": 7}}
    )
    assert [c.id for c in await client.search_contacts("+15550100123")] == [205]
    request, _ = checked(search)
    assert request.url.params["q"] == "+15550100123"  # httpx encodes "+" as %2B
    assert b"%2B15550100123" in request.url.raw_path
    result = await client.create_contact_inbox(205, 7, "15550100123@s.whatsapp.net")
    checked(inbox)
    assert result.source_id == "15550100123@s.whatsapp.net"


async def test_conversation_lifecycle(router: respx.Router, client: ChatwootClient) -> None:
    create = router.post(f"{ACC}/conversations").respond(200, json=CONVERSATION)
    listing = router.get(f"{ACC}/conversations").respond(
        200, json={"data": {"meta": {}, "payload": [CONVERSATION]}}
    )
    by_contact = router.get(f"{ACC}/contacts/205/conversations").respond(
        200, json={"payload": [CONVERSATION]}
    )
    toggle = router.post(f"{ACC}/conversations/42/toggle_status").respond(
        200,
        json={
            "meta": {},
            "payload": {"success": True, "conversation_id": 42, "current_status": "resolved"},
        },
    )
    assign = router.post(f"{ACC}/conversations/42/assignments").respond(200, json=None)
    labels = router.post(f"{ACC}/conversations/42/labels").respond(
        200, json={"payload": ["whatsapp", "dtv"]}
    )
    conv = await client.create_conversation(
        inbox_id=7,
        contact_id=205,
        source_id="15550100123@s.whatsapp.net",
        team_id=1,
        custom_attributes={"department": "DTV"},
    )
    assert conv.cw_conversation_id == 42
    _, body = checked(create)
    assert (body["inbox_id"], body["team_id"], body["status"]) == (7, 1, "open")
    assert [c.id for c in await client.list_conversations(inbox_id=7, status="open")] == [42]
    checked(listing)
    assert len(await client.list_contact_conversations(205)) == 1
    checked(by_contact)
    assert (await client.toggle_status(42, "resolved")).current_status == "resolved"
    checked(toggle)
    await client.assign_team(42, 1)
    _, body = checked(assign)
    assert body == {"team_id": 1}
    await client.assign_agent(42, 3)
    _, body = checked(assign)
    assert body == {"assignee_id": 3}
    assert await client.set_labels(42, ["WhatsApp", "DTV"]) == ["whatsapp", "dtv"]
    _, body = checked(labels)
    assert body == {"labels": ["whatsapp", "dtv"]}


async def test_messages(router: respx.Router, client: ChatwootClient) -> None:
    route = router.post(f"{ACC}/conversations/42/messages").respond(
        200,
        json={
            "id": 9001,
            "content": "Hi",
            "message_type": 0,
            "private": False,
            "source_id": "WAID:1",
        },
    )
    message = await client.create_message(
        42,
        "Hi",
        message_type="incoming",
        source_id="WAID:1",
        content_attributes={"in_reply_to_external_id": "WAID:0"},
    )
    _, body = checked(route)
    assert body["source_id"] == "WAID:1"
    assert body["message_type"] == "incoming"
    assert message.message_type == "incoming"
    upload = CwUpload("photo.jpg", "image/jpeg", b"\xff\xd8\xff")
    await client.create_message_with_attachments(42, [upload], content="Foto", source_id="WAID:2")
    request, _ = checked(route)
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="attachments[]"; filename="photo.jpg"' in request.content
    assert b"WAID:2" in request.content


async def test_update_message_status_not_in_swagger(
    router: respx.Router, client: ChatwootClient
) -> None:
    route = router.patch(f"{ACC}/conversations/42/messages/9001").respond(200, json={})
    await client.update_message_status(42, 9001, "failed", external_error="not on WhatsApp")
    request = route.calls.last.request
    assert json.loads(request.content) == {"status": "failed", "external_error": "not on WhatsApp"}
    # chatwoot.md §a documents this PATCH (API inboxes); the swagger only lists DELETE here.
    found = chatwoot_spec().find("PATCH", request.url.path)
    assert found is None
    assert chatwoot_spec().find("DELETE", request.url.path) is not None


async def test_errors(router: respx.Router, client: ChatwootClient) -> None:
    router.get(f"{ACC}/conversations/1").respond(404, json={"error": "Resource could not be found"})
    router.get(f"{ACC}/conversations/2").respond(
        429, text="Retry later", headers={"Retry-After": "3"}
    )
    router.get(f"{ACC}/conversations/3").respond(401, json={"error": "Invalid Access Token"})
    with pytest.raises(PermanentDeliveryError, match="404"):
        await client.get_conversation(1)
    with pytest.raises(RetryableDeliveryError) as limited:
        await client.get_conversation(2)
    assert limited.value.retry_after_s == 3.0
    with pytest.raises(PermanentDeliveryError) as denied:
        await client.get_conversation(3)
    assert TOKEN not in str(denied.value)
