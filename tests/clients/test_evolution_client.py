"""EvolutionClient requests compared with the request samples (Evolution has no usable spec)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from bridge.clients.evolution import EvolutionClient, EvoMessageKey
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from tests.contracts_dir import load_contract

API_KEY = "evo-global-api-key-123"
BASE = "https://evo.test"


def assert_same_shape(sent: Any, sample: Any, where: str = "body") -> None:
    """Every key we send exists in the sample with the same JSON type (recursively)."""
    if isinstance(sample, dict):
        assert isinstance(sent, dict), where
        for key, value in sent.items():
            assert key in sample, f"{where}.{key} is not in the Evolution sample"
            assert_same_shape(value, sample[key], f"{where}.{key}")
    elif isinstance(sample, list):
        assert isinstance(sent, list), where
        for item in sent:
            assert_same_shape(item, sample[0], f"{where}[]")
    else:
        assert type(sent) is type(sample), f"{where}: {type(sent)} vs {type(sample)}"


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE)


@pytest.fixture
def client(router: respx.Router) -> EvolutionClient:
    return EvolutionClient(
        base_url=BASE, api_key=API_KEY, transport=httpx.MockTransport(router.handler)
    )


def sent_json(route: respx.Route) -> Any:
    request = route.calls.last.request
    assert request.headers["apikey"] == API_KEY
    assert API_KEY not in str(request.url)
    return json.loads(request.content)


async def test_send_text(router: respx.Router, client: EvolutionClient) -> None:
    route = router.post("/message/sendText/inst%20demo").respond(
        201, json=load_contract("evolution/send-text-response.json")
    )
    quoted = EvoMessageKey(
        "5511912345678@s.whatsapp.net", False, "AC0000000000000000000000000000A1"
    )
    result = await client.send_text(
        "inst demo", "5511912345678", "Olá", delay_ms=1200, link_preview=False, quoted=quoted
    )
    body = sent_json(route)
    assert_same_shape(body, load_contract("evolution/send-text-request.json"))
    assert body["quoted"]["key"]["id"] == "AC0000000000000000000000000000A1"
    assert result.key.id == "3EB07F687BA29993B52BA3"
    assert result.key.remote_jid == "5511912345678@s.whatsapp.net"


@pytest.mark.parametrize(
    ("sample", "kwargs"),
    [
        (
            "send-media-request.json",
            {
                "mediatype": "image",
                "media": "https://f.test/p.png",
                "mimetype": "image/png",
                "caption": "Foto",
                "file_name": "p.png",
                "delay_ms": 1200,
            },
        ),
        (
            "send-media-document-request.json",
            {
                "mediatype": "document",
                "media": "JVBERi0=",
                "mimetype": "application/pdf",
                "caption": "Boleto",
                "file_name": "b.pdf",
            },
        ),
    ],
)
async def test_send_media(
    router: respx.Router, client: EvolutionClient, sample: str, kwargs: dict[str, Any]
) -> None:
    route = router.post("/message/sendMedia/inst-demo").respond(
        201, json=load_contract("evolution/send-media-response.json")
    )
    result = await client.send_media("inst-demo", "5511912345678", **kwargs)
    body = sent_json(route)
    assert_same_shape(body, load_contract(f"evolution/{sample}"))
    assert set(body) == set(load_contract(f"evolution/{sample}")) - (
        set() if "delay_ms" in kwargs else {"delay"}
    )
    assert result.message is not None
    assert result.message.image_message is not None


async def test_send_media_without_caption_omits_it(
    router: respx.Router, client: EvolutionClient
) -> None:
    route = router.post("/message/sendMedia/inst-demo").respond(
        201, json=load_contract("evolution/send-media-response.json")
    )
    await client.send_media("inst-demo", "5511912345678", mediatype="image", media="u", caption="")
    assert "caption" not in sent_json(route)  # an empty caption gets a 400 (issue #2517)


async def test_send_whatsapp_audio(router: respx.Router, client: EvolutionClient) -> None:
    route = router.post("/message/sendWhatsAppAudio/inst-demo").respond(
        201, json=load_contract("evolution/send-text-response.json")
    )
    await client.send_whatsapp_audio(
        "inst-demo", "5511912345678", "https://f.test/a.mp3", delay_ms=800
    )
    sample = load_contract("evolution/send-whatsapp-audio-request.json")
    body = sent_json(route)
    assert_same_shape(body, sample)
    assert set(body) == set(sample)


async def test_mark_message_as_read(router: respx.Router, client: EvolutionClient) -> None:
    route = router.post("/chat/markMessageAsRead/inst-demo").respond(
        201, json=load_contract("evolution/mark-message-as-read-response.json")
    )
    key = EvoMessageKey("5511912345678@s.whatsapp.net", False, "AC0000000000000000000000000000A1")
    result = await client.mark_message_as_read("inst-demo", [key])
    assert sent_json(route) == load_contract("evolution/mark-message-as-read-request.json")
    assert result.read == "success"


async def test_get_base64_from_media_message(router: respx.Router, client: EvolutionClient) -> None:
    route = router.post("/chat/getBase64FromMediaMessage/inst-demo").respond(
        201, json=load_contract("evolution/get-base64-from-media-response.json")
    )
    media = await client.get_base64_from_media_message(
        "inst-demo", "AC0000000000000000000000000000D1"
    )
    assert sent_json(route) == load_contract("evolution/get-base64-from-media-request.json")
    assert (media.mimetype, media.base64) == ("image/jpeg", "BASE64_IMAGE_PLACEHOLDER")


async def test_set_webhook_is_nested(router: respx.Router, client: EvolutionClient) -> None:
    # The research (§a.1) says the docs' flat form is rejected: the body nests under `webhook`.
    route = router.post("/webhook/set/inst-demo").respond(201, json={"webhook": {}})
    await client.set_webhook(
        "inst-demo",
        "https://bridge.example.test/webhooks/evolution",
        headers={"X-Webhook-Secret": "hook-secret-value"},
    )
    body = sent_json(route)
    sample = load_contract("evolution/webhook-set-request.json")
    assert set(body) == {"webhook"}
    assert set(body["webhook"]) == set(sample["webhook"])
    # `headers` is free-form (the sample: jwt_key + a static token; the bridge sends one header).
    assert body["webhook"].pop("headers") == {"X-Webhook-Secret": "hook-secret-value"}
    sample["webhook"].pop("headers")
    assert_same_shape(body, sample)
    assert body["webhook"]["events"] == sample["webhook"]["events"]
    assert (body["webhook"]["byEvents"], body["webhook"]["base64"]) == (False, False)


async def test_set_webhook_error_hides_the_webhook_secret(
    router: respx.Router, client: EvolutionClient
) -> None:
    router.post("/webhook/set/inst-demo").respond(400, json={"echo": "hook-secret-value"})
    with pytest.raises(PermanentDeliveryError) as caught:
        await client.set_webhook("inst-demo", "https://b.test", headers={"X": "hook-secret-value"})
    assert "hook-secret-value" not in str(caught.value)


async def test_set_settings(router: respx.Router, client: EvolutionClient) -> None:
    route = router.post("/settings/set/inst-demo").respond(201, json={"settings": {}})
    await client.set_settings("inst-demo")
    body = sent_json(route)
    # Required by Evolution's settings schema (research §g2); all off except groupsIgnore.
    required = {
        "rejectCall",
        "groupsIgnore",
        "alwaysOnline",
        "readMessages",
        "readStatus",
        "syncFullHistory",
    }
    assert required <= set(body)
    assert body["groupsIgnore"] is True
    assert not any(body[k] for k in required - {"groupsIgnore"})


@pytest.mark.parametrize(
    ("sample", "status", "error"),
    [
        ("error-400-not-on-whatsapp.json", 400, PermanentDeliveryError),
        ("error-400-validation.json", 400, PermanentDeliveryError),
        ("error-401-unauthorized.json", 401, PermanentDeliveryError),
        ("error-404-instance-not-found.json", 404, PermanentDeliveryError),
        # Baileys "Connection Closed" is wrapped as 400 but is transient.
        ("error-400-send-failed.json", 400, RetryableDeliveryError),
    ],
)
async def test_error_samples(
    router: respx.Router,
    client: EvolutionClient,
    sample: str,
    status: int,
    error: type[Exception],
) -> None:
    router.post("/message/sendText/inst-demo").respond(
        status, json=load_contract(f"evolution/{sample}")
    )
    with pytest.raises(error) as caught:
        await client.send_text("inst-demo", "5511912345678", "hi")
    assert API_KEY not in str(caught.value)
    assert type(caught.value) is error


async def test_send_answer_that_does_not_fit_is_permanent(
    router: respx.Router, client: EvolutionClient
) -> None:
    router.post("/message/sendText/inst-demo").respond(201, json={"ok": True})
    with pytest.raises(PermanentDeliveryError, match="does not fit"):
        await client.send_text("inst-demo", "5511912345678", "hi")
