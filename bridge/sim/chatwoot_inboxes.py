"""Chatwoot application API: inboxes (API and email channels), agent bot link, inbox members."""

from __future__ import annotations

import secrets

from aiohttp import web

from bridge.sim.chatwoot_http import (
    STATE_KEY,
    cw_error,
    int_or_none,
    is_admin,
    json_body,
    not_found,
)
from bridge.sim.chatwoot_store import ChatwootState, Row, token
from bridge.sim.chatwoot_views import agent_json, inbox_json

# What `GET /api` reports (not in the swagger; unauthenticated): 4.15 signs every webhook.
SIM_VERSION = "4.15.1"
RULE_FIELDS = ("name", "description", "event_name", "conditions", "actions", "active")
API_ATTRS = ("webhook_url", "hmac_mandatory", "additional_attributes")
EMAIL_ATTRS = (
    "email",
    "imap_enabled",
    "imap_address",
    "imap_port",
    "imap_login",
    "imap_password",
    "imap_enable_ssl",
    "imap_authentication",
    "smtp_enabled",
    "smtp_address",
    "smtp_port",
    "smtp_login",
    "smtp_password",
    "smtp_domain",
    "smtp_enable_starttls_auto",
    "smtp_enable_ssl_tls",
    "smtp_openssl_verify_mode",
    "smtp_authentication",
    "provider",
    "verified_for_sending",
)
INBOX_FLAGS = (
    "enable_auto_assignment",
    "greeting_enabled",
    "greeting_message",
    "lock_to_single_conversation",
    "enable_email_collect",
    "csat_survey_enabled",
)


def _inbox_view(request: web.Request, inbox: Row) -> Row:
    return inbox_json(inbox, admin=is_admin(request))


async def create_inbox(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request)
    channel = body.get("channel") or {}
    kind = channel.get("type")
    if kind not in ("api", "email") or not body.get("name"):
        return cw_error(
            422, "Channel type is not supported" if body.get("name") else "Name can't be blank"
        )
    inbox_id = state.next_id("inbox")
    inbox: Row = {
        "id": inbox_id,
        "avatar_url": "",
        "channel_id": state.next_id(f"ch_{kind}"),
        "name": body["name"],
        "provider": None,
        "enable_auto_assignment": True,
        "greeting_enabled": False,
        "greeting_message": None,
        "lock_to_single_conversation": False,
        "enable_email_collect": True,
        "csat_survey_enabled": False,
        "working_hours_enabled": False,
        "callback_webhook_url": None,
        "allow_messages_after_resolved": True,
        "timezone": "UTC",
        "members": set(),
        "agent_bot_id": None,
    }
    if kind == "api":
        inbox.update(
            channel_type="Channel::Api",
            webhook_url=channel.get("webhook_url") or "",
            hmac_mandatory=bool(channel.get("hmac_mandatory", False)),
            additional_attributes=channel.get("additional_attributes") or {},
            inbox_identifier=token(24),
            hmac_token=token(24),
            secret=token(24),
        )
    else:
        email = str(channel.get("email") or "").lower()
        if not email:
            return web.json_response(
                {"message": "Email can't be blank", "attributes": ["email"]}, status=422
            )
        if any(i.get("email") == email for i in state.inboxes.values()):
            return web.json_response(
                {"message": "Email has already been taken", "attributes": ["email"]}, status=422
            )
        inbox.update(
            channel_type="Channel::Email",
            imap_enable_ssl=True,
            imap_authentication="plain",
            smtp_authentication="login",
            smtp_openssl_verify_mode="none",
            forward_to_email=f"{secrets.token_hex(8)}@inbound.chatwoot.sim",
        )
        inbox.update({k: channel[k] for k in EMAIL_ATTRS if k in channel})
        inbox["email"] = email
    inbox.update({k: body[k] for k in INBOX_FLAGS if k in body})
    state.inboxes[inbox_id] = inbox
    return web.json_response(_inbox_view(request, inbox))


def _inbox(request: web.Request) -> Row | None:
    return request.app[STATE_KEY].inboxes.get(int_or_none(request.match_info["inbox_id"]) or 0)


async def list_inboxes(request: web.Request) -> web.Response:
    inboxes = request.app[STATE_KEY].inboxes.values()
    return web.json_response({"payload": [_inbox_view(request, i) for i in inboxes]})


async def show_inbox(request: web.Request) -> web.Response:
    inbox = _inbox(request)
    return not_found() if inbox is None else web.json_response(_inbox_view(request, inbox))


async def update_inbox(request: web.Request) -> web.Response:
    inbox = _inbox(request)
    if inbox is None:
        return not_found()
    body = await json_body(request)
    inbox.update({k: body[k] for k in (*INBOX_FLAGS, "name") if k in body})
    channel = body.get("channel") or {}
    allowed = API_ATTRS if inbox["channel_type"] == "Channel::Api" else EMAIL_ATTRS
    inbox.update({k: channel[k] for k in allowed if k in channel})
    return web.json_response(_inbox_view(request, inbox))


async def set_agent_bot(request: web.Request) -> web.Response:
    inbox = _inbox(request)
    if inbox is None:
        return not_found()
    bot_id = int_or_none((await json_body(request)).get("agent_bot"))
    if bot_id is not None and bot_id not in request.app[STATE_KEY].agent_bots:
        return not_found()
    inbox["agent_bot_id"] = bot_id
    return web.Response(status=200)


async def show_agent_bot(request: web.Request) -> web.Response:
    inbox = _inbox(request)
    if inbox is None:
        return not_found()
    bot = request.app[STATE_KEY].agent_bots.get(inbox["agent_bot_id"] or 0)
    return web.json_response(
        {
            "agent_bot": {k: v for k, v in bot.items() if k not in ("secret", "access_token")}
            if bot
            else None
        }
    )


def user_ids(state: ChatwootState, body: Row) -> list[int] | None:
    ids = [int_or_none(u) for u in body.get("user_ids") or []]
    if any(i is None or i not in state.account_users for i in ids):
        return None
    return [i for i in ids if i is not None]


async def inbox_members(request: web.Request) -> web.Response:
    """POST adds, PATCH replaces, DELETE removes; answers the inbox's agents."""
    state = request.app[STATE_KEY]
    body = await json_body(request)
    inbox = state.inboxes.get(int_or_none(body.get("inbox_id")) or 0)
    ids = user_ids(state, body)
    if inbox is None:
        return not_found()
    if ids is None:
        return cw_error(422, "User must exist")
    members: set[int] = inbox["members"]
    if request.method == "POST":
        members.update(ids)
    elif request.method == "PATCH":
        members.clear()
        members.update(ids)
    else:
        members.difference_update(ids)
    return web.json_response(
        {"payload": [agent_json(state, state.users[u]) for u in sorted(members)]}
    )


async def list_inbox_members(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    inbox = _inbox(request)
    if inbox is None:
        return not_found()
    return web.json_response(
        {"payload": [agent_json(state, state.users[u]) for u in sorted(inbox["members"])]}
    )


async def api_version(request: web.Request) -> web.Response:
    return web.json_response({"version": SIM_VERSION, "timestamp": "2026-07-13 00:00:00"})


async def update_rule(request: web.Request) -> web.Response:
    """`PATCH automation_rules/{id}`: what `bridge setup` uses to correct a drifted rule."""
    state = request.app[STATE_KEY]
    rule = state.automation_rules.get(int_or_none(request.match_info["rule_id"]) or 0)
    if rule is None:
        return not_found()
    body = await json_body(request)
    rule.update({k: body[k] for k in RULE_FIELDS if k in body})
    return web.json_response(rule)


def add_inbox_routes(app: web.Application, prefix: str) -> None:
    r = app.router
    r.add_get("/api", api_version)
    r.add_patch(f"{prefix}/automation_rules/{{rule_id:\\d+}}", update_rule)
    r.add_get(f"{prefix}/inboxes", list_inboxes)
    r.add_post(f"{prefix}/inboxes", create_inbox)
    r.add_get(f"{prefix}/inboxes/{{inbox_id:\\d+}}", show_inbox)
    r.add_patch(f"{prefix}/inboxes/{{inbox_id:\\d+}}", update_inbox)
    r.add_post(f"{prefix}/inboxes/{{inbox_id:\\d+}}/set_agent_bot", set_agent_bot)
    r.add_get(f"{prefix}/inboxes/{{inbox_id:\\d+}}/agent_bot", show_agent_bot)
    for method in ("POST", "PATCH", "DELETE"):
        r.add_route(method, f"{prefix}/inbox_members", inbox_members)
    r.add_get(f"{prefix}/inbox_members/{{inbox_id:\\d+}}", list_inbox_members)
