"""Chatwoot application API, account setup: teams, agent bots, rules, webhooks, agents."""

from __future__ import annotations

import time

from aiohttp import web

from bridge.sim.chatwoot_http import (
    STATE_KEY,
    cw_error,
    int_or_none,
    is_admin,
    json_body,
    not_found,
)
from bridge.sim.chatwoot_inboxes import user_ids
from bridge.sim.chatwoot_store import Row, token
from bridge.sim.chatwoot_views import agent_json

SUBSCRIPTIONS = frozenset(
    [
        "conversation_status_changed",
        "conversation_updated",
        "conversation_created",
        "contact_created",
        "contact_updated",
        "message_created",
        "message_updated",
        "webwidget_triggered",
        "inbox_created",
        "inbox_updated",
        "conversation_typing_on",
        "conversation_typing_off",
    ]
)


def _team_view(team: Row) -> Row:
    return {k: v for k, v in team.items() if k != "members"}


async def create_team(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request)
    name = str(body.get("name") or "").lower()  # Chatwoot lower-cases team names
    if not name or any(t["name"] == name for t in state.teams.values()):
        return web.json_response(
            {
                "message": "Name has already been taken" if name else "Name can't be blank",
                "attributes": ["name"],
            },
            status=422,
        )
    team = {
        "id": state.next_id("team"),
        "name": name,
        "description": body.get("description", ""),
        "allow_auto_assign": bool(body.get("allow_auto_assign", True)),
        "icon": None,
        "icon_color": None,
        "account_id": state.account["id"],
        "is_member": False,
        "members": set(),
    }
    state.teams[team["id"]] = team
    return web.json_response(_team_view(team))


async def list_teams(request: web.Request) -> web.Response:
    return web.json_response([_team_view(t) for t in request.app[STATE_KEY].teams.values()])


async def team_members(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    team = state.teams.get(int_or_none(request.match_info["team_id"]) or 0)
    if team is None:
        return not_found()
    members: set[int] = team["members"]
    if request.method == "GET":
        return web.json_response([agent_json(state, state.users[u]) for u in sorted(members)])
    ids = user_ids(state, await json_body(request))
    if ids is None:
        return cw_error(401, "Invalid User IDs")
    added = [u for u in ids if u not in members]
    if request.method == "POST":
        members.update(ids)
        return web.json_response([agent_json(state, state.users[u]) for u in added])
    if request.method == "PATCH":
        members.clear()
        members.update(ids)
    else:
        members.difference_update(ids)
    return web.json_response([agent_json(state, state.users[u]) for u in sorted(members)])


def _bot_view(bot: Row, *, admin: bool) -> Row:
    return {k: v for k, v in bot.items() if admin or k not in ("secret", "access_token")}


async def create_agent_bot(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request)
    bot = {
        "id": state.next_id("agent_bot"),
        "name": body.get("name") or "",
        "thumbnail": "",
        "description": body.get("description") or "",
        "outgoing_url": body.get("outgoing_url"),
        "bot_type": "webhook",
        "bot_config": body.get("bot_config") or {},
        "account_id": state.account["id"],
        "access_token": token(24),
        "secret": token(24),
        "system_bot": False,
    }
    state.agent_bots[bot["id"]] = bot
    return web.json_response(_bot_view(bot, admin=True))


async def list_agent_bots(request: web.Request) -> web.Response:
    bots = request.app[STATE_KEY].agent_bots.values()
    return web.json_response([_bot_view(b, admin=is_admin(request)) for b in bots])


async def create_rule(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request)
    if not body.get("name") or not body.get("event_name") or not body.get("actions"):
        return cw_error(422, "Validation failed: Name, event name and actions are required")
    rule = {
        "id": state.next_id("rule"),
        "account_id": state.account["id"],
        "name": body["name"],
        "description": body.get("description") or "",
        "event_name": body["event_name"],
        "conditions": body.get("conditions") or [],
        "actions": body["actions"],
        "created_on": int(time.time()),
        "active": bool(body.get("active", True)),
    }
    state.automation_rules[rule["id"]] = rule
    return web.json_response(rule)


async def list_rules(request: web.Request) -> web.Response:
    return web.json_response({"payload": list(request.app[STATE_KEY].automation_rules.values())})


async def create_webhook(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request)
    subs = body.get("subscriptions") or []
    if not body.get("url") or any(s not in SUBSCRIPTIONS for s in subs):
        return web.json_response(
            {"message": "Invalid webhook", "attributes": ["subscriptions"]}, status=422
        )
    hook = {
        "id": state.next_id("webhook"),
        "name": body.get("name"),
        "url": body["url"],
        "account_id": state.account["id"],
        "subscriptions": subs,
        "secret": token(24),
        "inbox": None,
    }
    state.webhooks[hook["id"]] = hook
    return web.json_response({"payload": {"webhook": hook}})


async def list_webhooks(request: web.Request) -> web.Response:
    hooks = list(request.app[STATE_KEY].webhooks.values())
    return web.json_response({"payload": {"webhooks": hooks}})


async def list_agents(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return web.json_response([agent_json(state, state.users[u]) for u in state.account_users])


async def update_agent(request: web.Request) -> web.Response:
    """`Api::V1::Accounts::AgentsController#update`: role, availability, auto_offline."""
    state = request.app[STATE_KEY]
    user_id = int(request.match_info["agent_id"])
    account_user = state.account_users.get(user_id)
    if account_user is None or user_id not in state.users:
        return web.json_response({"error": "Resource could not be found"}, status=404)
    body = await request.json()
    if isinstance(body.get("auto_offline"), bool):
        account_user["auto_offline"] = body["auto_offline"]
    if body.get("role") in ("agent", "administrator"):
        account_user["role"] = body["role"]
    return web.json_response(agent_json(state, state.users[user_id]))


def add_admin_routes(app: web.Application, prefix: str) -> None:
    r = app.router
    r.add_get(f"{prefix}/teams", list_teams)
    r.add_post(f"{prefix}/teams", create_team)
    for method in ("GET", "POST", "PATCH", "DELETE"):
        r.add_route(method, f"{prefix}/teams/{{team_id:\\d+}}/team_members", team_members)
    r.add_get(f"{prefix}/agent_bots", list_agent_bots)
    r.add_post(f"{prefix}/agent_bots", create_agent_bot)
    r.add_get(f"{prefix}/automation_rules", list_rules)
    r.add_post(f"{prefix}/automation_rules", create_rule)
    r.add_get(f"{prefix}/webhooks", list_webhooks)
    r.add_post(f"{prefix}/webhooks", create_webhook)
    r.add_get(f"{prefix}/agents", list_agents)
    r.add_patch(f"{prefix}/agents/{{agent_id:\\d+}}", update_agent)
