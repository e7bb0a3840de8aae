"""Typebot viewer simulator: `startChat` / `continueChat` over an interpreted flow (oRPC era)."""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bridge.sim.faults import install_faults
from bridge.sim.typebot_engine import FlowEngine
from bridge.sim.typebot_flow import FlowSession, default_flow

FORMATS = ("richText", "markdown")
_ALNUM = string.ascii_lowercase + string.digits


def cuid2() -> str:
    return secrets.choice(string.ascii_lowercase) + "".join(
        secrets.choice(_ALNUM) for _ in range(23)
    )


def orpc_error(status: int, code: str, message: str, data: Any = None) -> web.Response:
    body: dict[str, Any] = {
        "defined": status < 500,
        "code": code,
        "status": status,
        "message": message,
    }
    if data is not None:
        body["data"] = data
    return web.json_response(body, status=status)


@dataclass
class TypebotState:
    public_id: str
    flow: dict[str, Any]
    http_url: str | None = None
    http_headers: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, FlowSession] = field(default_factory=dict)
    http_calls: list[dict[str, Any]] = field(default_factory=list)
    client: aiohttp.ClientSession | None = None

    def engine(self) -> FlowEngine:
        return FlowEngine(self.flow, http_url=self.http_url, http_headers=self.http_headers)

    async def call_http(
        self, method: str, url: str, headers: dict[str, str], body: str | None
    ) -> int | None:
        record: dict[str, Any] = {"method": method, "url": url, "headers": headers, "body": body}
        self.http_calls.append(record)
        if self.client is None:
            return None
        send_headers = dict(headers)
        if body is not None:
            try:
                json.loads(body)
                send_headers.setdefault("Content-Type", "application/json")
            except ValueError:
                send_headers.setdefault("Content-Type", "text/plain")
        try:
            async with self.client.request(
                method,
                url,
                data=body,
                headers=send_headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                record["status"] = resp.status
                record["response"] = await resp.text()
                return resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            record["error"] = type(exc).__name__
            return None


STATE_KEY = web.AppKey("typebot_state", TypebotState)


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        return orpc_error(
            400, "BAD_REQUEST", "Input validation failed", {"issues": [{"message": "Invalid JSON"}]}
        )
    if not isinstance(body, dict):
        return orpc_error(
            400,
            "BAD_REQUEST",
            "Input validation failed",
            {"issues": [{"message": "Expected object"}]},
        )
    fmt = body.get("textBubbleContentFormat", "richText")
    if fmt not in FORMATS:
        return orpc_error(
            400,
            "BAD_REQUEST",
            "Input validation failed",
            {
                "issues": [
                    {
                        "message": 'Invalid option: expected one of "richText"|"markdown"',
                        "path": ["textBubbleContentFormat"],
                    }
                ]
            },
        )
    return body


def _turn_body(turn: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"messages": turn.messages}
    if turn.input is not None:
        out["input"] = turn.input
    return out


async def start_chat(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.match_info["public_id"] != state.public_id:
        return orpc_error(404, "NOT_FOUND", "Typebot not found")
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    engine = state.engine()
    prefilled = body.get("prefilledVariables") or {}
    session = engine.new_session(prefilled if isinstance(prefilled, dict) else {})
    session_id, result_id = cuid2(), cuid2()
    head = {
        "sessionId": session_id,
        "resultId": result_id,
        "typebot": {
            "id": state.flow.get("id", ""),
            "version": state.flow.get("version", "6"),
            "theme": state.flow.get("theme", {}),
            "settings": state.flow.get("settings", {}),
            "publishedAt": "2026-08-20T09:12:44.000Z",
        },
    }
    if body.get("isOnlyRegistering"):
        state.sessions[session_id] = session
        return web.json_response(head)
    turn = await engine.start(
        session, body.get("textBubbleContentFormat", "richText"), state.call_http
    )
    if turn.input is not None:
        state.sessions[session_id] = session
    return web.json_response({**head, **_turn_body(turn)})


def _reply_text(message: Any) -> tuple[str, str | None] | None:
    if isinstance(message, str):
        return message, None
    if isinstance(message, dict) and message.get("type") == "text":
        metadata = message.get("metadata") or {}
        return str(message.get("text", "")), metadata.get("replyId")
    return None


async def continue_chat(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    session = state.sessions.get(request.match_info["session_id"])
    if session is None:
        return orpc_error(404, "NOT_FOUND", "Session not found.")
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    fmt = body.get("textBubbleContentFormat", "richText")
    engine = state.engine()
    if not session.waiting:  # registered only: this call starts the flow
        turn = await engine.start(session, fmt, state.call_http)
    else:
        reply = _reply_text(body.get("message"))
        if reply is None:
            return orpc_error(
                400,
                "BAD_REQUEST",
                "Input validation failed",
                {"issues": [{"message": "Invalid message", "path": ["message"]}]},
            )
        turn = await engine.reply(session, reply[0], reply[1], fmt, state.call_http)
    if turn.input is None:
        # A completed live session is deleted: the next continueChat gets 404.
        del state.sessions[request.match_info["session_id"]]
    return web.json_response(_turn_body(turn))


async def sim_state(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return web.json_response(
        {
            "public_id": state.public_id,
            "sessions": {
                sid: {"variables": s.variables, "waiting": s.waiting}
                for sid, s in state.sessions.items()
            },
            "http_calls": state.http_calls,
        }
    )


async def _client_ctx(app: web.Application) -> Any:
    state = app[STATE_KEY]
    state.client = aiohttp.ClientSession()
    yield
    await state.client.close()
    state.client = None


def load_flow(flow: dict[str, Any] | str | Path | None) -> dict[str, Any]:
    if flow is None:
        return default_flow()
    if isinstance(flow, dict):
        return flow
    loaded = json.loads(Path(flow).read_text(encoding="utf-8"))
    # Builder exports may wrap the bot as {"typebot": {...}}.
    return dict(loaded.get("typebot", loaded))


def create_typebot_app(
    *,
    public_id: str = "mm-triage",
    flow: dict[str, Any] | str | Path | None = None,
    http_url: str | None = None,
    webhook_secret: str | None = None,
) -> web.Application:
    """A published bot `public_id`; `http_url`/`webhook_secret` override its HTTP block."""
    app = web.Application()
    state = TypebotState(public_id=public_id, flow=load_flow(flow), http_url=http_url)
    if webhook_secret is not None:
        state.http_headers["X-Webhook-Secret"] = webhook_secret
    app[STATE_KEY] = state
    app.cleanup_ctx.append(_client_ctx)
    install_faults(app)
    app.router.add_post("/api/v1/typebots/{public_id}/startChat", start_chat)
    app.router.add_post("/api/v1/sessions/{session_id}/continueChat", continue_chat)
    app.router.add_get("/_sim/typebot/state", sim_state)
    return app
