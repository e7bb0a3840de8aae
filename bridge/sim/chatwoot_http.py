"""Chatwoot HTTP conventions: app keys, `api_access_token` auth, error bodies, JSON helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridge.sim.chatwoot_dispatch import ChatwootDispatcher
from bridge.sim.chatwoot_store import ChatwootState, Row

STATE_KEY = web.AppKey("chatwoot_state", ChatwootState)
HOOKS_KEY = web.AppKey("chatwoot_hooks", ChatwootDispatcher)
ACTOR_KEY = web.RequestKey("chatwoot_actor", tuple[str, Row])
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Endpoints an agent-bot token may call (BOT_ACCESSIBLE_ENDPOINTS), as (route name) tags.
BOT_ROUTES = frozenset(
    {
        "conversations.show",
        "conversations.toggle_status",
        "conversations.create",
        "messages.create",
        "assignments.create",
        "labels.index",
        "labels.create",
    }
)


def cw_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def not_found() -> web.Response:
    return cw_error(404, "Resource could not be found")


async def json_body(request: web.Request) -> Row:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def actor(request: web.Request) -> tuple[str, Row]:
    return request[ACTOR_KEY]


def int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Application API auth: user tokens, or agent-bot tokens on the bot-accessible routes."""
    if not request.path.startswith("/api/v1/"):
        return await handler(request)
    state = request.app[STATE_KEY]
    given = request.headers.get("api_access_token") or request.headers.get(
        "HTTP_API_ACCESS_TOKEN", ""
    )
    if not given:
        return cw_error(401, "You need to sign in or sign up before continuing.")
    user = state.find_user_by_token(given)
    if user is not None:
        if (
            str(request.match_info.get("account_id", state.account["id"]))
            != str(state.account["id"])
            or user["id"] not in state.account_users
        ):
            return cw_error(401, "You are not authorized to access this account")
        request[ACTOR_KEY] = ("User", user)
        return await handler(request)
    bot = state.find_bot_by_token(given)
    if bot is None:
        return cw_error(401, "Invalid Access Token")
    route_name = getattr(request.match_info.route, "name", None) or ""
    if route_name not in BOT_ROUTES:
        return cw_error(401, "Access to this endpoint is not authorized for bots")
    request[ACTOR_KEY] = ("AgentBot", bot)
    return await handler(request)


def is_admin(request: web.Request) -> bool:
    kind, who = actor(request)
    state = request.app[STATE_KEY]
    return kind == "User" and state.account_users.get(who["id"], {}).get("role") == "administrator"
