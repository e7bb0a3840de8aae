"""Evolution simulator against the contract samples: status codes, bodies, webhook delivery."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from bridge.sim.evolution import create_evolution_app
from tests.contracts_dir import load_contract
from tests.sim.receiver import Receiver

KEY = "TEST-EVOLUTION-KEY"
H = {"apikey": KEY}
JWT_KEY = "jwt-secret-that-is-long-enough-for-hs256!"


@pytest.fixture
async def evo(aiohttp_client: Any) -> Any:
    return await aiohttp_client(create_evolution_app(api_key=KEY, instance="mmall"))


async def _hook(evo: Any, aiohttp_server: Any, receiver: Receiver, **extra: Any) -> str:
    server = await aiohttp_server(receiver.app())
    url = str(server.make_url("/webhooks/evolution"))
    body = {
        "webhook": {
            "enabled": True,
            "url": url,
            "events": ["MESSAGES_UPSERT", "SEND_MESSAGE"],
            "headers": {"X-Webhook-Secret": "s3cret"},
            "byEvents": False,
            "base64": False,
            **extra,
        }
    }
    resp = await evo.post("/webhook/set/mmall", json=body, headers=H)
    assert resp.status == 201
    return url


async def test_send_text_answers_201_shaped_like_the_sample_and_is_recorded(evo: Any) -> None:
    sample = load_contract("evolution/send-text-response.json")
    request = load_contract("evolution/send-text-request.json")
    resp = await evo.post("/message/sendText/mmall", json=request, headers=H)
    body = await resp.json()
    assert resp.status == 201
    assert set(body) == set(sample)
    assert set(body["key"]) == set(sample["key"])
    assert body["key"]["remoteJid"] == "5511912345678@s.whatsapp.net"
    assert body["message"] == {"conversation": request["text"]}
    sent = await (await evo.get("/_sim/evolution/sent")).json()
    assert [s["response"]["key"]["id"] for s in sent] == [body["key"]["id"]]


async def test_two_sends_get_distinct_message_ids(evo: Any) -> None:
    ids = set()
    for _ in range(2):
        resp = await evo.post(
            "/message/sendText/mmall", json={"number": "27821234567", "text": "hi"}, headers=H
        )
        ids.add((await resp.json())["key"]["id"])
    assert len(ids) == 2


async def test_send_media_and_audio_shapes(evo: Any) -> None:
    sample = load_contract("evolution/send-media-response.json")
    resp = await evo.post(
        "/message/sendMedia/mmall",
        json=load_contract("evolution/send-media-request.json"),
        headers=H,
    )
    body = await resp.json()
    assert resp.status == 201
    assert set(body) == set(sample)
    assert body["messageType"] == "imageMessage"
    assert body["message"]["imageMessage"]["mimetype"] == "image/jpeg"
    resp = await evo.post(
        "/message/sendWhatsAppAudio/mmall",
        json=load_contract("evolution/send-whatsapp-audio-request.json"),
        headers=H,
    )
    assert resp.status == 201
    assert (await resp.json())["message"]["audioMessage"]["ptt"] is True


async def test_errors_match_the_contract_bodies(evo: Any) -> None:
    resp = await evo.post(
        "/message/sendText/mmall", json={"number": "1", "text": "x"}, headers={"apikey": "wrong"}
    )
    assert resp.status == 401
    assert await resp.json() == load_contract("evolution/error-401-unauthorized.json")
    resp = await evo.post(
        "/message/sendText/inst-demo", json={"number": "1", "text": "x"}, headers=H
    )
    assert resp.status == 404
    assert await resp.json() == load_contract("evolution/error-404-instance-not-found.json")
    resp = await evo.post("/message/sendText/mmall", json={"number": "5511912345678"}, headers=H)
    assert resp.status == 400
    assert await resp.json() == load_contract("evolution/error-400-validation.json")


async def test_number_not_on_whatsapp_gives_exists_false(evo: Any) -> None:
    await evo.post("/_sim/evolution/config", json={"not_on_whatsapp": ["5511900009999"]})
    resp = await evo.post(
        "/message/sendText/mmall", json={"number": "5511900009999", "text": "x"}, headers=H
    )
    assert resp.status == 400
    assert await resp.json() == load_contract("evolution/error-400-not-on-whatsapp.json")


async def test_mark_read_and_settings_and_root(evo: Any) -> None:
    resp = await evo.post(
        "/chat/markMessageAsRead/mmall",
        json=load_contract("evolution/mark-message-as-read-request.json"),
        headers=H,
    )
    assert resp.status == 201
    assert await resp.json() == load_contract("evolution/mark-message-as-read-response.json")
    settings = {
        "rejectCall": False,
        "groupsIgnore": True,
        "alwaysOnline": False,
        "readMessages": False,
        "readStatus": False,
        "syncFullHistory": False,
    }
    assert (await evo.post("/settings/set/mmall", json=settings, headers=H)).status == 201
    found = await (await evo.get("/settings/find/mmall", headers=H)).json()
    assert found["groupsIgnore"] is True
    root = await (await evo.get("/")).json()
    assert root["version"].startswith("2.3")
    instances = await (await evo.get("/instance/fetchInstances", headers=H)).json()
    assert [i["name"] for i in instances] == ["mmall"]


async def test_webhook_set_requires_the_nested_body_and_find_returns_it(evo: Any) -> None:
    flat = {"enabled": True, "url": "http://127.0.0.1:9/x", "webhookByEvents": False}
    resp = await evo.post("/webhook/set/mmall", json=flat, headers=H)
    assert resp.status == 400
    assert (await resp.json())["response"]["message"] == ['requires property "webhook"']
    resp = await evo.post(
        "/webhook/set/mmall", json=load_contract("evolution/webhook-set-request.json"), headers=H
    )
    assert resp.status == 201
    found = await (await evo.get("/webhook/find/mmall", headers=H)).json()
    assert found["url"] == "https://bridge.example.test/hooks/evolution/inst-demo"
    assert found["webhookByEvents"] is False


async def test_inbound_text_is_delivered_like_the_sample_after_retries(
    evo: Any, aiohttp_server: Any
) -> None:
    receiver = Receiver(statuses=[500, 503])
    await _hook(evo, aiohttp_server, receiver)
    resp = await evo.post(
        "/_sim/evolution/inbound",
        json={"from_phone": "27821234567", "push_name": "Thandi", "text": "Hi"},
    )
    assert resp.status == 201
    delivery = (await resp.json())["delivery"]
    assert [a.get("status") for a in delivery["attempts"]] == [500, 503, 200]
    assert delivery["delivered"] is True
    assert len(receiver.requests) == 3
    sample = load_contract("evolution/messages-upsert-text.json")
    body = json.loads(receiver.requests[-1]["raw"])
    assert set(body) == set(sample)
    assert set(body["data"]) == set(sample["data"])
    assert set(body["data"]["key"]) == set(sample["data"]["key"])
    assert body["data"]["message"]["conversation"] == "Hi"
    assert body["data"]["key"]["remoteJid"] == "27821234567@s.whatsapp.net"
    assert receiver.requests[-1]["headers"]["X-Webhook-Secret"] == "s3cret"
    # Every retry carries the same event (same message id).
    ids = {json.loads(r["raw"])["data"]["key"]["id"] for r in receiver.requests}
    assert len(ids) == 1


async def test_non_retryable_status_stops_after_one_attempt(evo: Any, aiohttp_server: Any) -> None:
    receiver = Receiver(statuses=[401])
    await _hook(evo, aiohttp_server, receiver)
    resp = await evo.post(
        "/_sim/evolution/inbound", json={"from_lid": "123456789012345", "text": "Hi"}
    )
    delivery = (await resp.json())["delivery"]
    assert [a["status"] for a in delivery["attempts"]] == [401]
    assert delivery["delivered"] is False
    body = json.loads(receiver.requests[0]["raw"])
    assert body["data"]["key"]["remoteJid"] == "123456789012345@lid"


async def test_jwt_key_becomes_a_bearer_token(evo: Any, aiohttp_server: Any) -> None:
    receiver = Receiver()
    await _hook(
        evo,
        aiohttp_server,
        receiver,
        headers={"jwt_key": JWT_KEY},
    )
    await evo.post("/_sim/evolution/inbound", json={"from_phone": "27821234567", "text": "Hi"})
    auth = receiver.requests[0]["headers"]["Authorization"]
    claims = jwt.decode(
        auth.removeprefix("Bearer "),
        JWT_KEY,
        algorithms=["HS256"],
    )
    assert claims["app"] == "evolution"
    assert "jwt_key" not in receiver.requests[0]["headers"]


async def test_api_sends_emit_send_message(evo: Any, aiohttp_server: Any) -> None:
    receiver = Receiver()
    await _hook(evo, aiohttp_server, receiver)
    resp = await evo.post(
        "/message/sendText/mmall", json={"number": "27821234567", "text": "Hello"}, headers=H
    )
    msg_id = (await resp.json())["key"]["id"]
    await evo.get("/_sim/evolution/deliveries?wait=1")
    body = json.loads(receiver.requests[0]["raw"])
    assert body["event"] == "send.message"
    assert body["data"]["key"]["id"] == msg_id
    assert set(body["data"]) == set(load_contract("evolution/send-message-event.json")["data"])


async def test_inbound_media_is_fetchable_with_get_base64(evo: Any) -> None:
    resp = await evo.post(
        "/_sim/evolution/inbound",
        json={
            "from_phone": "27821234567",
            "media": {"type": "image", "caption": "broken", "base64": "aGVsbG8="},
        },
    )
    msg_id = (await resp.json())["data"]["key"]["id"]
    resp = await evo.post(
        "/chat/getBase64FromMediaMessage/mmall",
        json={"message": {"key": {"id": msg_id}}},
        headers=H,
    )
    body = await resp.json()
    assert resp.status == 201
    assert set(body) == set(load_contract("evolution/get-base64-from-media-response.json"))
    assert body["base64"] == "aGVsbG8="
    assert body["caption"] == "broken"
    resp = await evo.post(
        "/chat/getBase64FromMediaMessage/mmall",
        json={"message": {"key": {"id": "NOPE"}}},
        headers=H,
    )
    assert resp.status == 400
