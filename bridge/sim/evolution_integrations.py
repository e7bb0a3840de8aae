"""Evolution's built-in Chatwoot and Typebot integrations, per instance (what setup turns off)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.sim.evolution_http import evo_error, instance_route, missing_props
from bridge.sim.evolution_state import EvolutionInstance

CHATWOOT_REQUIRED = (
    "enabled",
    "accountId",
    "token",
    "url",
    "signMsg",
    "reopenConversation",
    "conversationPending",
)


@dataclass
class IntegrationState:
    """`chatwoot[instance]` is the `/chatwoot/set` row; `typebots[instance]` the bot rows.

    `chatwoot_server_enabled`/`typebot_server_enabled` model `CHATWOOT_ENABLED`/`TYPEBOT_ENABLED`:
    when false the routes answer 400 "... is disabled", as Evolution does.
    """

    chatwoot: dict[str, dict[str, Any]] = field(default_factory=dict)
    typebots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    chatwoot_server_enabled: bool = True
    typebot_server_enabled: bool = True

    def add_typebot(self, instance: str, **fields: Any) -> dict[str, Any]:
        bot = {"id": uuid.uuid4().hex[:25], "enabled": True, "triggerType": "all", **fields}
        self.typebots.setdefault(instance, []).append(bot)
        return bot


INTEGRATIONS_KEY = web.AppKey("evolution_integrations", IntegrationState)


def _state(request: web.Request) -> IntegrationState:
    return request.app[INTEGRATIONS_KEY]


async def set_chatwoot(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    state = _state(request)
    if not state.chatwoot_server_enabled:
        return evo_error(400, ["Chatwoot is disabled"])
    if (err := missing_props(body, *CHATWOOT_REQUIRED)) is not None:
        return err
    row = dict(body)
    if not row["enabled"]:
        # Evolution blanks the connection fields of a disabled integration.
        row.update(accountId="", token="", url="", signMsg=False, reopenConversation=False)
        row.update(conversationPending=False, autoCreate=False)
    state.chatwoot[inst.name] = row
    return web.json_response({"chatwoot": {**row, "webhook_url": ""}}, status=201)


async def find_chatwoot(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    state = _state(request)
    if not state.chatwoot_server_enabled:
        return evo_error(400, ["Chatwoot is disabled"])
    row = state.chatwoot.get(inst.name)
    return web.json_response({**row, "webhook_url": ""} if row else {"enabled": False})


async def find_typebots(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    state = _state(request)
    if not state.typebot_server_enabled:
        return evo_error(400, ["Typebot is disabled"])
    return web.json_response(state.typebots.get(inst.name, []))


async def update_typebot(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    state = _state(request)
    if not state.typebot_server_enabled:
        return evo_error(400, ["Typebot is disabled"])
    bot_id = request.match_info["typebot_id"]
    bot = next((b for b in state.typebots.get(inst.name, []) if b["id"] == bot_id), None)
    if bot is None:
        return evo_error(404, ["Typebot not found"])
    if (err := missing_props(body, "enabled")) is not None:
        return err
    bot.update({k: v for k, v in body.items() if k != "id"})
    return web.json_response(bot)


def add_integration_routes(app: web.Application) -> None:
    app[INTEGRATIONS_KEY] = IntegrationState()
    r = app.router
    r.add_post("/chatwoot/set/{instance}", instance_route(set_chatwoot))
    r.add_get("/chatwoot/find/{instance}", instance_route(find_chatwoot, needs_body=False))
    r.add_get("/typebot/find/{instance}", instance_route(find_typebots, needs_body=False))
    r.add_put("/typebot/update/{typebot_id}/{instance}", instance_route(update_typebot))
