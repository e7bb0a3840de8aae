"""Typebot simulator: chat API bodies like the samples, choice matching, HTTP block, session end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.sim.typebot import create_typebot_app
from tests.contracts_dir import load_contract
from tests.sim.receiver import Receiver

START = "/api/v1/typebots/mm-triage/startChat"


@pytest.fixture
async def bot(aiohttp_client: Any, aiohttp_server: Any) -> tuple[Any, Receiver]:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    app = create_typebot_app(
        public_id="mm-triage",
        http_url=str(server.make_url("/webhooks/typebot")),
        webhook_secret="tb-secret",
    )
    return await aiohttp_client(app), receiver


async def _start(client: Any, **body: Any) -> dict[str, Any]:
    resp = await client.post(
        START, json={"prefilledVariables": {"bridge_contact": "c-1", "name": "Thandi"}, **body}
    )
    assert resp.status == 200
    result: dict[str, Any] = await resp.json()
    return result


@pytest.mark.parametrize("fmt", ["richText", "markdown"])
async def test_start_chat_matches_the_sample(bot: tuple[Any, Receiver], fmt: str) -> None:
    sample = load_contract(f"typebot/examples/startChat.response.{fmt}.json")
    body = await _start(bot[0], textBubbleContentFormat=fmt)
    assert set(body) == set(sample)
    assert set(body["typebot"]) == set(sample["typebot"])
    assert body["messages"] == sample["messages"]
    assert body["input"] == sample["input"]
    assert len(body["sessionId"]) == 24


async def test_choice_runs_http_block_then_ends_and_session_is_gone(
    bot: tuple[Any, Receiver],
) -> None:
    client, receiver = bot
    session_id = (await _start(client))["sessionId"]
    url = f"/api/v1/sessions/{session_id}/continueChat"
    resp = await client.post(
        url, json=load_contract("typebot/examples/continueChat.request.choice.json")
    )
    assert resp.status == 200
    assert await resp.json() == load_contract("typebot/examples/continueChat.response.end.json")
    assert len(receiver.requests) == 1
    call = receiver.requests[0]
    assert call["headers"]["X-Webhook-Secret"] == "tb-secret"
    assert json.loads(call["raw"]) == {
        "bridge_contact": "c-1",
        "department": "DTV",
        "name": "Thandi",
    }
    resp = await client.post(url, json={"message": "DTV"})
    errors = load_contract("typebot/examples/errors.json")["orpc_v3.15_plus"]
    assert resp.status == 404
    assert await resp.json() == errors["continueChat_session_not_found"]["body"]


async def test_legacy_string_reply_and_markdown_end(bot: tuple[Any, Receiver]) -> None:
    client, receiver = bot
    session_id = (await _start(client))["sessionId"]
    resp = await client.post(
        f"/api/v1/sessions/{session_id}/continueChat",
        json={"message": "Sales", "textBubbleContentFormat": "markdown"},
    )
    body = await resp.json()
    assert body["messages"][0]["content"]["markdown"].startswith(
        "Thanks! We're connecting you to our Sales team"
    )
    assert "input" not in body
    assert json.loads(receiver.requests[0]["raw"])["department"] == "Sales"


@pytest.mark.parametrize("reply", ["dtv", "1", "Support"])
async def test_unmatched_reply_reasks_like_the_sample(
    bot: tuple[Any, Receiver], reply: str
) -> None:
    client, receiver = bot
    session_id = (await _start(client))["sessionId"]
    resp = await client.post(
        f"/api/v1/sessions/{session_id}/continueChat",
        json={"message": {"type": "text", "text": reply}},
    )
    assert resp.status == 200
    assert await resp.json() == load_contract(
        "typebot/examples/continueChat.response.invalid-reply.json"
    )
    assert receiver.requests == []


async def test_reply_by_item_id_matches(bot: tuple[Any, Receiver]) -> None:
    client, receiver = bot
    session_id = (await _start(client))["sessionId"]
    await client.post(
        f"/api/v1/sessions/{session_id}/continueChat", json={"message": "f5g9h2j6k0l4z8x1c7v3b5n9"}
    )
    assert json.loads(receiver.requests[0]["raw"])["department"] == "Sales"


async def test_unknown_public_id_and_bad_format(bot: tuple[Any, Receiver]) -> None:
    client, _ = bot
    errors = load_contract("typebot/examples/errors.json")["orpc_v3.15_plus"]
    resp = await client.post("/api/v1/typebots/nope/startChat", json={})
    assert resp.status == 404
    assert await resp.json() == errors["startChat_unknown_publicId"]["body"]
    resp = await client.post(START, json={"textBubbleContentFormat": "html"})
    assert resp.status == 400
    assert (await resp.json())["message"] == "Input validation failed"


async def test_unknown_prefilled_variables_are_ignored(bot: tuple[Any, Receiver]) -> None:
    client, receiver = bot
    resp = await client.post(
        START, json={"prefilledVariables": {"bogus": "x", "bridge_contact": "c-9"}}
    )
    session_id = (await resp.json())["sessionId"]
    await client.post(f"/api/v1/sessions/{session_id}/continueChat", json={"message": "DTV"})
    sent = json.loads(receiver.requests[0]["raw"])
    assert sent == {"bridge_contact": "c-9", "department": "DTV", "name": ""}


async def test_flow_loaded_from_an_export_file(aiohttp_client: Any, tmp_path: Any) -> None:
    from bridge.sim.typebot_flow import default_flow

    flow = default_flow()
    flow["groups"][0]["blocks"][0]["content"]["richText"][0]["children"][0]["text"] = "Hola!"
    path = tmp_path / "flow.json"
    path.write_text(json.dumps({"typebot": flow}), encoding="utf-8")
    client = await aiohttp_client(create_typebot_app(public_id="mm-triage", flow=path))
    body = await _start(client)
    assert body["messages"][0]["content"]["richText"][0]["children"] == [{"text": "Hola!"}]
