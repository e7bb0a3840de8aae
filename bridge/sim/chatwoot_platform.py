"""Chatwoot platform API (users, SSO links, account users) and the `/app/login` SSO landing page."""

from __future__ import annotations

import hmac
import html
import re
import secrets
import time
from urllib.parse import urlencode

from aiohttp import web

from bridge.sim.chatwoot_http import STATE_KEY, Handler, cw_error, int_or_none, json_body
from bridge.sim.chatwoot_store import ChatwootState, Row

SSO_TTL_S = 300
PASSWORD_RULES = (r"[A-Z]", r"[a-z]", r"\d", r"[^A-Za-z\d]")


@web.middleware
async def platform_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/platform/"):
        return await handler(request)
    given = request.headers.get("api_access_token", "")
    expected = request.app[STATE_KEY].platform_token
    if not given or not expected or not hmac.compare_digest(given, expected):
        return cw_error(401, "Invalid access_token")
    return await handler(request)


def user_json(state: ChatwootState, user: Row) -> Row:
    au = state.account_users.get(user["id"])
    out: Row = {
        "access_token": user["access_token"],
        "account_id": state.account["id"] if au else None,
        "available_name": user["name"],
        "avatar_url": "",
        "confirmed": user["confirmed"],
        "display_name": user["display_name"],
        "message_signature": None,
        "email": user["email"],
        "id": user["id"],
        "name": user["name"],
        "provider": "email",
        "pubsub_token": user["pubsub_token"],
        "role": au["role"] if au else None,
        "ui_settings": {},
        "uid": user["email"],
        "accounts": [
            {
                "id": state.account["id"],
                "name": state.account["name"],
                "active_at": None,
                "role": au["role"],
            }
        ]
        if au
        else [],
    }
    if user["custom_attributes"]:
        out["custom_attributes"] = user["custom_attributes"]
    return out


async def create_user(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request)
    email = str(body.get("email") or "").lower()
    existing = next((u for u in state.users.values() if u["email"] == email), None)
    if existing is not None:
        existing["confirmed"] = True  # adopted unchanged, now confirmed
        return web.json_response(user_json(state, existing))
    password = str(body.get("password") or "")
    if not email or "@" not in email:
        return web.json_response(
            {"message": "Email is invalid", "attributes": ["email"]}, status=422
        )
    if not 6 <= len(password) <= 128 or not all(re.search(p, password) for p in PASSWORD_RULES):
        return web.json_response(
            {
                "message": "Password should contain atleast 1 uppercase letter, 1 lowercase "
                "letter, 1 number and 1 special character",
                "attributes": ["password"],
            },
            status=422,
        )
    user = state.add_user(
        name=str(body.get("name") or email), email=email, role=None, password=password
    )
    user["display_name"] = body.get("display_name")
    user["custom_attributes"] = body.get("custom_attributes") or {}
    return web.json_response(user_json(state, user))


def _user(request: web.Request) -> Row | None:
    return request.app[STATE_KEY].users.get(int_or_none(request.match_info["user_id"]) or 0)


async def get_user(request: web.Request) -> web.Response:
    user = _user(request)
    if user is None:
        return cw_error(404, "Resource could not be found")
    return web.json_response(user_json(request.app[STATE_KEY], user))


async def update_user(request: web.Request) -> web.Response:
    user = _user(request)
    if user is None:
        return cw_error(404, "Resource could not be found")
    body = await json_body(request)
    for key in ("name", "display_name", "email", "password"):
        if key in body:
            user[key] = body[key]
    user["custom_attributes"] = {
        **user["custom_attributes"],
        **(body.get("custom_attributes") or {}),
    }
    return web.json_response(user_json(request.app[STATE_KEY], user))


async def login_link(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    user = _user(request)
    if user is None:
        return cw_error(404, "Resource could not be found")
    sso = secrets.token_hex(32)  # a fresh token each call; earlier ones stay valid until used
    state.sso_tokens[sso] = {"user_id": user["id"], "expires_at": time.time() + SSO_TTL_S}
    query = urlencode({"email": user["email"], "sso_auth_token": sso})
    return web.json_response({"url": f"{state.frontend_url}/app/login?{query}"})


async def user_token(request: web.Request) -> web.Response:
    user = _user(request)
    if user is None:
        return cw_error(404, "Resource could not be found")
    return web.json_response(
        {
            "access_token": user["access_token"],
            "expiry": None,
            "user": {k: user[k] for k in ("id", "name", "display_name", "email", "pubsub_token")},
        }
    )


async def account_users(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if str(request.match_info["account_id"]) != str(state.account["id"]):
        return cw_error(401, "Non permissible resource")
    if request.method == "GET":
        return web.json_response(list(state.account_users.values()))
    body = await json_body(request)
    user_id = int_or_none(body.get("user_id"))
    if user_id not in state.users:
        return cw_error(404, "Resource could not be found")
    if request.method == "DELETE":
        row = state.account_users.pop(user_id or 0, None)
        for holder in (*state.inboxes.values(), *state.teams.values()):
            holder["members"].discard(user_id)
        return web.json_response(row or {})
    role = str(body.get("role") or "agent")
    if role not in ("agent", "administrator"):
        return web.json_response(
            {"message": "Role is not included in the list", "attributes": ["role"]}, status=422
        )
    return web.json_response(state.set_account_user(user_id or 0, role))


def _page(status: int, title: str, text: str) -> web.Response:
    body = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


async def app_login(request: web.Request) -> web.Response:
    """What the SPA does: POST /auth/sign_in with the token, which deletes it (single use)."""
    state = request.app[STATE_KEY]
    email = request.query.get("email", "").lower()
    given = request.query.get("sso_auth_token", "")
    entry = state.sso_tokens.pop(given, None) if given else None
    user = state.users.get(entry["user_id"]) if entry else None
    if entry is None or user is None or entry["expires_at"] < time.time() or user["email"] != email:
        return _page(401, "Chatwoot", "Invalid login credentials")
    state.sessions.append(
        {
            "user_id": user["id"],
            "email": user["email"],
            "at": time.time(),
            "account_id": request.query.get("sso_account_id"),
            "conversation_id": request.query.get("sso_conversation_id"),
        }
    )
    return _page(200, "Chatwoot", f"Signed in as {user['email']}")


def add_platform_routes(app: web.Application) -> None:
    r = app.router
    p = "/platform/api/v1"
    r.add_post(f"{p}/users", create_user)
    r.add_get(f"{p}/users/{{user_id:\\d+}}", get_user)
    r.add_patch(f"{p}/users/{{user_id:\\d+}}", update_user)
    r.add_get(f"{p}/users/{{user_id:\\d+}}/login", login_link)
    r.add_post(f"{p}/users/{{user_id:\\d+}}/token", user_token)
    for method in ("GET", "POST", "DELETE"):
        r.add_route(method, f"{p}/accounts/{{account_id:\\d+}}/account_users", account_users)
    r.add_get("/app/login", app_login)
