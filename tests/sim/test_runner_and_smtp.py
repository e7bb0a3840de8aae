"""The whole simulator stack on loopback: SMTP sink, configure(), fault injection, run_forever."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from email.message import EmailMessage

import aiohttp
import aiosmtplib
import pytest

from bridge.sim.runner import SimStack, start_simulators
from tests.sim.receiver import Receiver


@pytest.fixture
async def stack() -> AsyncIterator[SimStack]:
    sims = await start_simulators()
    yield sims
    await sims.aclose()


async def test_smtp_sink_records_a_mail_sent_with_aiosmtplib(stack: SimStack) -> None:
    assert stack.smtp is not None
    msg = EmailMessage()
    msg["From"] = "noreply@mmallelectronics.co.za"
    msg["To"] = "kay@example.org"
    msg["Subject"] = "Set your password"
    msg.set_content("Open https://hub.example/onboarding/abc")
    await aiosmtplib.send(msg, hostname=stack.host, port=stack.smtp.port)
    assert [m.subject for m in stack.smtp.sink.to("KAY@example.org")] == ["Set your password"]
    async with aiohttp.ClientSession() as http:
        resp = await http.get(stack.urls["smtp_inspect"] + "/_sim/smtp/messages")
        listed = await resp.json()
    assert listed[0]["to"] == ["kay@example.org"]
    assert "onboarding/abc" in listed[0]["body"]


async def test_configure_points_evolution_and_typebot_at_the_bridge(stack: SimStack) -> None:
    receiver = Receiver()
    bridge = aiohttp.web.AppRunner(receiver.app())
    await bridge.setup()
    site = aiohttp.web.TCPSite(bridge, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        stack.configure(
            bridge_url=f"http://127.0.0.1:{port}",
            evolution_webhook_secret="evo-s",
            typebot_webhook_secret="tb-s",
        )
        async with aiohttp.ClientSession() as http:
            await http.post(
                stack.urls["evolution"] + "/_sim/evolution/inbound",
                json={"from_phone": "27821234567", "text": "Hi"},
            )
            start = await http.post(
                f"{stack.urls['typebot']}/api/v1/typebots/mm-triage/startChat", json={}
            )
            sid = (await start.json())["sessionId"]
            await http.post(
                f"{stack.urls['typebot']}/api/v1/sessions/{sid}/continueChat",
                json={"message": "DTV"},
            )
    finally:
        await bridge.cleanup()
    paths = [(r["path"], r["headers"].get("X-Webhook-Secret")) for r in receiver.requests]
    assert paths == [("/webhooks/evolution", "evo-s"), ("/webhooks/typebot", "tb-s")]
    assert json.loads(receiver.requests[0]["raw"])["event"] == "messages.upsert"


async def test_fault_injection_answers_503_then_drops_then_recovers(stack: SimStack) -> None:
    base = stack.urls["evolution"]
    headers = {"apikey": stack.credentials.evolution_api_key}
    async with aiohttp.ClientSession() as http:
        await http.post(base + "/_sim/faults", json={"count": 1, "mode": "status"})
        await http.post(base + "/_sim/faults", json={"count": 1, "mode": "drop"})
        first = await http.get(base + "/instance/fetchInstances", headers=headers)
        assert first.status == 503
        with pytest.raises(aiohttp.ClientError):
            # POST: aiohttp retries an idempotent GET once when the server disconnects.
            await http.post(
                base + "/message/sendText/mmall",
                headers=headers,
                json={"number": "27821234567", "text": "lost"},
            )
        third = await http.get(base + "/instance/fetchInstances", headers=headers)
        assert third.status == 200
        faults = await (await http.get(base + "/_sim/faults")).json()
    assert faults == {"pending": [], "injected": 2}
    assert stack.evolution.sent == []


async def test_run_forever_prints_urls_and_closes_on_cancel() -> None:
    from bridge.sim.runner import run_forever

    sims = await start_simulators()
    out = io.StringIO()
    task = asyncio.create_task(run_forever(sims, out=out))
    while not out.getvalue():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sims.urls["chatwoot"] in out.getvalue()
    assert sims.smtp is None
