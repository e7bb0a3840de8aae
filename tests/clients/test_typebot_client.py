"""TypebotClient requests validated against the viewer OpenAPI (v3.18.0) and error handling."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from bridge.clients.typebot import TypebotClient, TypebotSessionGone
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from tests.clients.spec import typebot_spec
from tests.contracts_dir import load_contract

BASE = "https://typebot.test"
SESSION = "y3nq8w1k0c5v7m2b9x4z6a1d"


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE)


@pytest.fixture
def client(router: respx.Router) -> TypebotClient:
    return TypebotClient(base_url=BASE, transport=httpx.MockTransport(router.handler))


async def test_start_chat(router: respx.Router, client: TypebotClient) -> None:
    route = router.post("/api/v1/typebots/my-bot/startChat").respond(
        200, json=load_contract("typebot/examples/startChat.response.markdown.json")
    )
    started = await client.start_chat("my-bot", {"bridge_contact": "c_1", "name": "Ana"})
    request = route.calls.last.request
    assert typebot_spec().validate(request) == "/v1/typebots/{publicId}/startChat"
    body = json.loads(request.content)
    assert body["prefilledVariables"] == {"bridge_contact": "c_1", "name": "Ana"}
    assert body["textBubbleContentFormat"] == "markdown"
    assert "Authorization" not in request.headers  # published bots need no auth
    assert started.session_id == SESSION
    assert started.input is not None
    assert started.input.is_choice


async def test_continue_chat_choice_matches_sample(
    router: respx.Router, client: TypebotClient
) -> None:
    route = router.post(f"/api/v1/sessions/{SESSION}/continueChat").respond(
        200, json=load_contract("typebot/examples/continueChat.response.end.json")
    )
    result = await client.continue_chat(
        SESSION, "DTV", reply_id="p6w0e3r8t1y5u9i2o7a4s0d3", text_bubble_content_format="richText"
    )
    request = route.calls.last.request
    assert typebot_spec().validate(request) == "/v1/sessions/{sessionId}/continueChat"
    assert json.loads(request.content) == load_contract(
        "typebot/examples/continueChat.request.choice.json"
    )
    assert result.flow_ended


async def test_continue_chat_plain_text(router: respx.Router, client: TypebotClient) -> None:
    route = router.post(f"/api/v1/sessions/{SESSION}/continueChat").respond(
        200, json=load_contract("typebot/examples/continueChat.response.invalid-reply.json")
    )
    result = await client.continue_chat(SESSION, "hello")
    request = route.calls.last.request
    typebot_spec().validate(request)
    assert json.loads(request.content)["message"] == {"type": "text", "text": "hello"}
    assert result.input is not None


@pytest.mark.parametrize("case", ["continueChat_session_not_found", "continueChat_session_expired"])
@pytest.mark.parametrize("generation", ["orpc_v3.15_plus", "trpc_v2.20_to_v3.14"])
async def test_session_gone(
    router: respx.Router, client: TypebotClient, case: str, generation: str
) -> None:
    error = load_contract("typebot/examples/errors.json")[generation][case]
    router.post(f"/api/v1/sessions/{SESSION}/continueChat").respond(
        error["status"], json=error["body"]
    )
    with pytest.raises(TypebotSessionGone) as caught:
        await client.continue_chat(SESSION, "hi")
    assert isinstance(caught.value, PermanentDeliveryError)
    assert SESSION not in str(caught.value)  # the session id works as a bearer secret


async def test_unknown_route_404_is_not_session_gone(
    router: respx.Router, client: TypebotClient
) -> None:
    router.post(f"/api/v1/sessions/{SESSION}/continueChat").respond(404, text="Not found")
    with pytest.raises(PermanentDeliveryError) as caught:
        await client.continue_chat(SESSION, "hi")
    assert not isinstance(caught.value, TypebotSessionGone)


async def test_unknown_bot_and_timeout(router: respx.Router, client: TypebotClient) -> None:
    errors = load_contract("typebot/examples/errors.json")["orpc_v3.15_plus"]
    router.post("/api/v1/typebots/nope/startChat").respond(
        404, json=errors["startChat_unknown_publicId"]["body"]
    )
    router.post("/api/v1/typebots/slow/startChat").respond(
        408, json=errors["chat_api_timeout"]["body"]
    )
    with pytest.raises(PermanentDeliveryError) as unknown:
        await client.start_chat("nope", {})
    assert not isinstance(unknown.value, TypebotSessionGone)
    with pytest.raises(RetryableDeliveryError):
        await client.start_chat("slow", {})


async def test_bearer_token_only_in_header(router: respx.Router) -> None:
    route = router.post("/api/v1/typebots/b/startChat").respond(500, text="boom tok-123456")
    client = TypebotClient(
        base_url=BASE, api_token="tok-123456", transport=httpx.MockTransport(router.handler)
    )
    with pytest.raises(RetryableDeliveryError) as caught:
        await client.start_chat("b", {})
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok-123456"
    assert "tok-123456" not in str(caught.value)
    await client.aclose()
