"""The exported flow, run by the Typebot simulator, talks exactly like the contract samples."""

from __future__ import annotations

import json
from typing import Any

from bridge.sim.typebot import create_typebot_app
from tests.config.files import CONFIG_DIR, load_json
from tests.contracts_dir import load_contract
from tests.sim.receiver import Receiver

START = "/api/v1/typebots/mm-triage/startChat"


async def test_flow_reproduces_the_samples_and_calls_back_the_bridge(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    receiver = Receiver()
    server = await aiohttp_server(receiver.app())
    # Only the URL is redirected to the loopback receiver; the header comes from the export.
    app = create_typebot_app(
        public_id="mm-triage",
        flow=CONFIG_DIR / "typebot" / "triage-flow.json",
        http_url=str(server.make_url("/webhooks/typebot")),
    )
    client = await aiohttp_client(app)

    resp = await client.post(
        START,
        json={"prefilledVariables": {"bridge_contact": "c-42", "name": "Thandi", "phone": "27"}},
    )
    assert resp.status == 200
    started = await resp.json()
    sample = load_contract("typebot/examples/startChat.response.richText.json")
    assert started["messages"] == sample["messages"]
    assert started["input"] == sample["input"]
    assert receiver.requests == []  # the menu waits for an answer

    resp = await client.post(
        f"/api/v1/sessions/{started['sessionId']}/continueChat",
        json=load_contract("typebot/examples/continueChat.request.choice.json"),
    )
    assert resp.status == 200
    assert await resp.json() == load_contract("typebot/examples/continueChat.response.end.json")

    assert len(receiver.requests) == 1
    call = receiver.requests[0]
    assert call["path"] == "/webhooks/typebot"
    flow = load_json("typebot/triage-flow.json")
    http_block = next(b for g in flow["groups"] for b in g["blocks"] if b["type"] == "Webhook")
    exported_header = http_block["options"]["webhook"]["headers"][0]
    assert call["headers"]["X-Webhook-Secret"] == exported_header["value"]
    assert json.loads(call["raw"]) == {
        "bridge_contact": "c-42",
        "department": "DTV",
        "name": "Thandi",
    }
