"""Minimal, fast upstream stubs (Evolution, Typebot, Chatwoot) on one loopback port.

Used instead of `bridge.sim` because the simulators, not the bridge, would be the bottleneck:
the Chatwoot simulator delivers every webhook through one sequential worker and keeps full
Rails-shaped records, the Evolution simulator keeps every send in one list that is scanned to
find a phone's messages, and the Typebot simulator interprets the flow JSON on every turn. The
stubs answer with the same shapes the bridge's clients parse, send the same webhooks back
(Evolution `send.message`, Chatwoot `message_created` and `conversation_status_changed`, the
Typebot HTTP block's handoff), and record arrival order and time for verification.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from benchmarks import payloads
from benchmarks.emitter import WebhookEmitter
from benchmarks.loadgen import Request, Target
from benchmarks.stub_chatwoot import ChatwootStub
from benchmarks.watch import Watch

WELCOME = "Welcome! 👋"
MENU_PROMPT = "**Choose Department:**"
DEPARTMENTS = ("DTV", "Sales")
INVALID = "Invalid message. Please, try again."


def goodbye(department: str) -> str:
    return f"Thanks! We're connecting you to our {department} team."


def _bubble(text: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex[:24],
        "type": "text",
        "content": {"type": "markdown", "markdown": text},
    }


CHOICE_INPUT = {
    "id": "z2x4c6v8b0n1m3q5w7e9r2t4",
    "type": "choice input",
    "items": [
        {"id": f"item{i}", "outgoingEdgeId": f"edge{i}", "content": name}
        for i, name in enumerate(DEPARTMENTS)
    ],
    "options": {"variableId": "vm4k8q2w6e0r9t3y7u1i5o2p"},
}


@dataclass
class Sent:
    text: str
    arrived_at: float


@dataclass
class EvolutionStub:
    emitter: WebhookEmitter
    watch: Watch
    evolution_secret: str
    echo_sends: bool = True
    sent: dict[str, list[Sent]] = field(default_factory=dict)  # by phone number
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send_text(self, request: web.Request) -> web.Response:
        body = await request.json()
        number = str(body["number"]).split("@", 1)[0]
        self.sent.setdefault(number, []).append(Sent(body["text"], time.perf_counter()))
        self.watch.notify(number)
        jid = payloads.jid_of(number)
        message = {
            "key": {"remoteJid": jid, "fromMe": True, "id": f"3EB0{next(self._ids):018X}"},
            "pushName": "Você",
            "status": "PENDING",
            "message": {"conversation": body["text"]},
            "messageType": "conversation",
            "messageTimestamp": int(time.time()),
            "instanceId": "00000000-0000-4000-8000-000000000001",
            "source": "web",
        }
        if self.echo_sends:
            event = {
                "event": "send.message",
                "instance": request.match_info["instance"],
                "data": message,
                "sender": "27110000000@s.whatsapp.net",
                "server_url": "http://127.0.0.1",
                "apikey": None,
            }
            self.emitter.emit(
                Request(
                    "/webhooks/evolution",
                    json.dumps(event).encode(),
                    (("X-Webhook-Secret", self.evolution_secret),),
                )
            )
        return web.json_response(message, status=201)


@dataclass
class TypebotStub:
    """startChat → welcome + department menu; a department choice → handoff, goodbye, end."""

    emitter: WebhookEmitter
    typebot_secret: str
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)

    async def start_chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        prefilled = body.get("prefilledVariables") or {}
        session_id = secrets.token_hex(12)
        self.sessions[session_id] = {k: str(v) for k, v in prefilled.items()}
        return web.json_response(
            {
                "sessionId": session_id,
                "resultId": secrets.token_hex(12),
                "typebot": {"id": "stub", "version": "6", "theme": {}, "settings": {}},
                "messages": [_bubble(WELCOME), _bubble(MENU_PROMPT)],
                "input": CHOICE_INPUT,
            }
        )

    async def continue_chat(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["session_id"])
        if session is None:
            return web.json_response(
                {"defined": True, "code": "NOT_FOUND", "status": 404, "message": "Not found"},
                status=404,
            )
        body = await request.json()
        message = body.get("message")
        text = message.get("text", "") if isinstance(message, dict) else str(message)
        if text not in DEPARTMENTS:
            return web.json_response({"messages": [_bubble(INVALID)], "input": CHOICE_INPUT})
        # The flow's HTTP block calls the bridge before the answer is returned.
        await self.emitter.post(
            payloads.typebot_handoff_request(
                session.get("bridge_contact", ""),
                text,
                session.get("name", ""),
                self.typebot_secret,
            )
        )
        del self.sessions[request.match_info["session_id"]]
        return web.json_response({"messages": [_bubble(goodbye(text))]})


@dataclass
class Stubs:
    evolution: EvolutionStub
    typebot: TypebotStub
    chatwoot: ChatwootStub
    emitter: WebhookEmitter
    watch: Watch
    runner: web.AppRunner | None = None
    url: str = ""

    async def aclose(self) -> None:
        await self.emitter.aclose()
        if self.runner is not None:
            await self.runner.cleanup()


def create_stub_app(stubs: Stubs) -> web.Application:
    app = web.Application()
    app.router.add_post("/message/sendText/{instance}", stubs.evolution.send_text)
    app.router.add_post("/api/v1/typebots/{public_id}/startChat", stubs.typebot.start_chat)
    app.router.add_post("/api/v1/sessions/{session_id}/continueChat", stubs.typebot.continue_chat)
    stubs.chatwoot.add_routes(app)
    return app


async def start_stubs(
    port: int, bridge_targets: Sequence[Target], secrets_: payloads.Secrets
) -> Stubs:
    watch = Watch()
    emitter = WebhookEmitter(bridge_targets)
    stubs = Stubs(
        evolution=EvolutionStub(emitter, watch, secrets_.evolution),
        typebot=TypebotStub(emitter, secrets_.typebot),
        chatwoot=ChatwootStub(secrets_.chatwoot, emitter, watch),
        emitter=emitter,
        watch=watch,
    )
    runner = web.AppRunner(create_stub_app(stubs), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stubs.runner, stubs.url = runner, f"http://127.0.0.1:{port}"
    return stubs
