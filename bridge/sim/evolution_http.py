"""Evolution's HTTP conventions: error envelope, `apikey` auth, instance lookup, body checks."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridge.sim.evolution_state import STATE_KEY, EvolutionInstance, EvolutionState

Route = Callable[[web.Request, EvolutionInstance, dict[str, Any]], Awaitable[web.Response]]


def evo_error(status: int, message: Any) -> web.Response:
    """Evolution's express error envelope."""
    reason = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    body = {"status": status, "error": reason, "response": {"message": message}}
    return web.json_response(body, status=status)


def missing_props(body: dict[str, Any], *names: str) -> web.Response | None:
    absent = [f'requires property "{n}"' for n in names if n not in body]
    return evo_error(400, absent) if absent else None


def authorized(state: EvolutionState, request: web.Request, inst: EvolutionInstance | None) -> bool:
    given = request.headers.get("apikey", "")
    if given and hmac.compare_digest(given, state.api_key):
        return True
    return bool(given and inst is not None and hmac.compare_digest(given, inst.token))


def instance_route(handler: Route, *, needs_body: bool = True) -> Callable[..., Any]:
    async def wrapped(request: web.Request) -> web.Response:
        state = request.app[STATE_KEY]
        name = request.match_info["instance"]
        inst = state.instances.get(name)
        if not authorized(state, request, inst):
            return evo_error(401, "Unauthorized")
        if inst is None:
            return evo_error(404, [f'The "{name}" instance does not exist'])
        body: Any = {}
        if needs_body:
            try:
                body = await request.json()
            except ValueError:
                return evo_error(400, ["Unexpected token in JSON"])
            if not isinstance(body, dict):
                return evo_error(400, ["is not of a type(s) object"])
        return await handler(request, inst, body)

    return wrapped
