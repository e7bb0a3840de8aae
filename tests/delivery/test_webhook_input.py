"""Bad input at the webhook endpoints: the right 4xx, nothing stored, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from bridge.keys import REPOSITORY
from tests.delivery.conftest import EVOLUTION_SECRET, StartBridge
from tests.delivery.harness import wa_message
from tests.factories import TEST_SECRETS

TYPEBOT = {"X-Webhook-Secret": TEST_SECRETS["typebot_webhook_secret"]}
EVOLUTION = {"X-Webhook-Secret": EVOLUTION_SECRET}
CW_TOKEN = "cw-query-token-1234"
CHATWOOT_URL = f"/webhooks/chatwoot?token={CW_TOKEN}"
AUTHED = {
    "/webhooks/evolution": EVOLUTION,
    "/webhooks/evolution/messages-upsert": EVOLUTION,
    CHATWOOT_URL: {},
    "/webhooks/typebot": TYPEBOT,
}


def chatwoot_message(message_id: int = 501) -> dict[str, Any]:
    return {
        "event": "message_created",
        "id": message_id,
        "content": "hello",
        "message_type": "outgoing",
        "conversation": {"id": 77, "inbox_id": 2},
    }


async def test_wrong_content_type_malformed_json_and_oversize(start_bridge: StartBridge) -> None:
    bridge = await start_bridge(chatwoot_webhook_token=CW_TOKEN, bridge_max_body_mb=0.01)
    limit = int(0.01 * 1024 * 1024)
    for url, auth in AUTHED.items():
        text = await bridge.client.post(
            url, data=b'{"event": "x"}', headers={**auth, "Content-Type": "text/plain"}
        )
        assert text.status == 415, url
        assert (await text.json())["error"]["code"] == "unsupported_media_type"

        for body in (b"{not json", b"", b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000):
            bad = await bridge.client.post(
                url, data=body, headers={**auth, "Content-Type": "application/json"}
            )
            assert bad.status in (400, 413), (url, body[:10])
            if len(body) < limit:
                assert bad.status == 400, (url, body[:10])
                assert (await bad.json())["error"]["code"] == "malformed_json"

        declared = await bridge.client.post(
            url, data=b" " * (limit + 1), headers={**auth, "Content-Type": "application/json"}
        )
        assert declared.status == 413, url

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(4):
                yield b" " * (limit // 2)

        chunked = await bridge.client.post(
            url, data=chunks(), headers={**auth, "Content-Type": "application/json"}
        )
        assert chunked.status == 413, url
        assert (await chunked.json())["error"]["code"] == "payload_too_large"
    assert await bridge.count("inbound_event") == 0


async def test_wrong_shape_is_422_with_the_field_path(start_bridge: StartBridge) -> None:
    bridge = await start_bridge(chatwoot_webhook_token=CW_TOKEN)
    no_key_id = wa_message("inst-demo", "2782000001", "M1")
    del no_key_id["data"]["key"]["id"]
    no_timestamp = wa_message("inst-demo", "2782000001", "M2")
    del no_timestamp["data"]["messageTimestamp"]
    no_conversation = chatwoot_message()
    del no_conversation["conversation"]
    cases: list[tuple[str, dict[str, str], Any, str]] = [
        ("/webhooks/evolution", EVOLUTION, no_key_id, "data.key.id"),
        ("/webhooks/evolution", EVOLUTION, no_timestamp, "data.messageTimestamp"),
        (CHATWOOT_URL, {}, no_conversation, "conversation"),
        (CHATWOOT_URL, {}, {**chatwoot_message(), "id": "x"}, "id"),
        ("/webhooks/typebot", TYPEBOT, {"bridge_contact": "1.n"}, "department"),
        ("/webhooks/typebot", TYPEBOT, {"bridge_contact": "1.n", "department": " "}, "department"),
        ("/webhooks/typebot", TYPEBOT, {"department": "DTV"}, "bridge_contact"),
    ]
    for url, auth, document, path in cases:
        response = await bridge.client.post(url, json=document, headers=auth)
        assert response.status == 422, (url, path)
        error = (await response.json())["error"]
        assert error["path"] == path, (url, error)
    assert await bridge.count("inbound_event") == 0
    assert await bridge.count("contacts") == 0


async def test_events_not_acted_on_are_acknowledged_and_not_stored(
    start_bridge: StartBridge,
) -> None:
    bridge = await start_bridge(chatwoot_webhook_token=CW_TOKEN)
    group = wa_message("inst-demo", "2782000001", "G1")
    group["data"]["key"]["remoteJid"] = "120363000000000000@g.us"
    group["data"]["key"]["remoteJidAlt"] = None
    broadcast = wa_message("inst-demo", "2782000001", "B1")
    broadcast["data"]["key"]["remoteJid"] = "status@broadcast"
    unknown = {"event": "qrcode.updated", "instance": "inst-demo", "data": {"qrcode": "..."}}
    receipt = {
        "event": "messages.update",
        "instance": "inst-demo",
        "data": {"keyId": "AC01", "status": "READ"},
    }
    cases: list[tuple[str, Any]] = [
        ("/webhooks/evolution", unknown),
        ("/webhooks/evolution", {**unknown, "event": "SOMETHING_NEW_IN_V3"}),
        ("/webhooks/evolution/qrcode-updated", {"instance": "inst-demo", "data": {}}),
        ("/webhooks/evolution/CONTACTS_UPSERT", {"instance": "inst-demo", "data": [{"id": 1}]}),
        ("/webhooks/evolution", receipt),
        ("/webhooks/evolution", group),
        ("/webhooks/evolution", broadcast),
    ]
    for url, document in cases:
        response = await bridge.client.post(url, json=document, headers=EVOLUTION)
        assert response.status == 200, (url, document.get("event"))
        assert (await response.json())["stored"] is False
    for event in ("typing_on", "contact_created", "message_updated"):
        document = {**chatwoot_message(), "event": event}
        response = await bridge.client.post(CHATWOOT_URL, json=document)
        assert response.status == 200, event
        assert (await response.json())["stored"] is False, event
    assert await bridge.count("inbound_event") == 0


async def test_typebot_unknown_department_lists_valid_keys(start_bridge: StartBridge) -> None:
    bridge = await start_bridge()
    first = await bridge.post_evolution(wa_message("inst-demo", "2782000001", "M1"))
    assert first.status == 200
    contact_id = await bridge.repo.database.fetchval("SELECT id FROM contacts")
    token = f"{contact_id}.session-nonce"

    unknown = await bridge.client.post(
        "/webhooks/typebot", json={"bridge_contact": token, "department": "Nope"}, headers=TYPEBOT
    )
    assert unknown.status == 422
    error = (await unknown.json())["error"]
    assert error["code"] == "unknown_department"
    assert error["path"] == "department"
    assert "DTV" in error["message"]
    assert "Sales" in error["message"]

    stranger = await bridge.client.post(
        "/webhooks/typebot",
        json={"bridge_contact": "999999.nonce", "department": "DTV"},
        headers=TYPEBOT,
    )
    assert stranger.status == 422
    assert (await stranger.json())["error"]["path"] == "bridge_contact"
    assert await bridge.count("inbound_event", "source = 'typebot'") == 0

    for _ in range(3):  # a repeated handoff is stored once
        ok = await bridge.client.post(
            "/webhooks/typebot",
            json={"bridge_contact": token, "department": "dtv"},
            headers=TYPEBOT,
        )
        assert ok.status == 200
        assert (await ok.json())["department"] == "DTV"
    assert await bridge.count("inbound_event", "source = 'typebot'") == 1


WEIRD_DOCUMENTS: list[Any] = [
    None,
    [],
    "text",
    0,
    {},
    {"event": None},
    {"event": 5},
    {"event": ""},
    {"event": "messages.upsert"},
    {"event": "messages.upsert", "instance": "", "data": {}},
    {"event": "messages.upsert", "instance": "i", "data": {"key": {"id": 1}}},
    {"event": "message_created", "id": None},
    {"event": "conversation_status_changed", "id": 5, "status": 3},
    {"bridge_contact": 5, "department": ["DTV"]},
    {"bridge_contact": "x" * 5000, "department": "DTV"},
]


async def test_client_mistakes_never_get_a_5xx(start_bridge: StartBridge) -> None:
    bridge = await start_bridge(chatwoot_webhook_token=CW_TOKEN)
    for url, auth in AUTHED.items():
        for document in WEIRD_DOCUMENTS:
            body = json.dumps(document)  # `json=None` would send no body at all
            headers = {**auth, "Content-Type": "application/json"}
            response = await bridge.client.post(url, data=body, headers=headers)
            assert response.status in (200, 400, 422), (url, document, response.status)
    assert await bridge.count("inbound_event") == 0


async def test_storage_down_answers_503_so_the_sender_retries(start_bridge: StartBridge) -> None:
    bridge = await start_bridge(chatwoot_webhook_token=CW_TOKEN)
    first = await bridge.post_evolution(wa_message("inst-demo", "2782000001", "M1"))
    assert first.status == 200
    contact_id = await bridge.repo.database.fetchval("SELECT id FROM contacts")
    await bridge.app[REPOSITORY].close()

    valid: list[tuple[str, dict[str, str], Any]] = [
        ("/webhooks/evolution", EVOLUTION, wa_message("inst-demo", "2782000001", "M2")),
        ("/webhooks/evolution", EVOLUTION, wa_message("inst-demo", "2782000009", "M3")),
        (CHATWOOT_URL, {}, chatwoot_message()),
        (
            "/webhooks/typebot",
            TYPEBOT,
            {"bridge_contact": f"{contact_id}.nonce", "department": "DTV"},
        ),
    ]
    for url, auth, document in valid:
        response = await bridge.client.post(url, json=document, headers=auth)
        assert response.status == 503, url
        assert (await response.json())["error"]["code"] == "storage_unavailable"
    # Client mistakes stay client mistakes while storage is down.
    wrong = await bridge.client.post("/webhooks/evolution", json={}, headers={})
    assert wrong.status == 401
    malformed = await bridge.client.post(
        "/webhooks/evolution", data=b"{", headers={**EVOLUTION, "Content-Type": "application/json"}
    )
    assert malformed.status == 400


async def test_a_stored_payload_reads_back_as_the_body_that_was_sent(
    start_bridge: StartBridge,
) -> None:
    """The body is stored as it came (not encoded again), which also keeps an escaped lone
    surrogate storable; a body that is not plain UTF-8 is re-encoded instead."""
    bridge = await start_bridge()
    spaced = wa_message("inst-demo", "27820000031", "RAW-1", "spaced out")
    surrogate = wa_message("inst-demo", "27820000032", "RAW-2")
    surrogate["data"]["message"]["conversation"] = "\ud83d broken emoji"
    utf16 = wa_message("inst-demo", "27820000033", "RAW-3", "in UTF-16")
    bodies = {
        "RAW-1": json.dumps(spaced, indent=3).encode(),
        "RAW-2": json.dumps(surrogate).encode(),  # ASCII with the escape "\ud83d"
        "RAW-3": json.dumps(utf16).encode("utf-16"),
    }
    for body in bodies.values():
        response = await bridge.client.post(
            "/webhooks/evolution",
            data=body,
            headers={**EVOLUTION, "Content-Type": "application/json"},
        )
        assert response.status == 200, await response.text()
        assert (await response.json())["stored"] is True
    repo = bridge.app[REPOSITORY]
    for wa_message_id, document in (("RAW-1", spaced), ("RAW-2", surrogate), ("RAW-3", utf16)):
        stored = await repo.find_inbound("evolution", f"inst-demo:{wa_message_id}")
        assert stored is not None
        assert stored.payload == document
    raw = await bridge.repo.database.fetchval(
        "SELECT payload FROM inbound_event WHERE external_id = 'inst-demo:RAW-1'"
    )
    assert raw == bodies["RAW-1"].decode()  # as sent, indentation and all


def test_payload_json_keeps_a_lone_surrogate_escaped() -> None:
    from bridge.state.inbox import dump_json

    assert json.loads(dump_json({"t": "\ud83d é"})) == {"t": "\ud83d é"}
    assert dump_json({"t": "é"}) == '{"t":"é"}'  # readable UTF-8 otherwise


async def test_a_by_events_body_is_stored_with_its_event_name(start_bridge: StartBridge) -> None:
    """With `byEvents`, the event name is in the path: the stored payload is the completed
    document, not the raw body without it."""
    bridge = await start_bridge()
    document = wa_message("inst-demo", "27820000034", "RAW-4")
    del document["event"]
    response = await bridge.client.post(
        "/webhooks/evolution/messages-upsert", json=document, headers=EVOLUTION
    )
    assert (await response.json())["stored"] is True
    stored = await bridge.app[REPOSITORY].find_inbound("evolution", "inst-demo:RAW-4")
    assert stored is not None
    assert stored.payload == {**document, "event": "messages.upsert"}
