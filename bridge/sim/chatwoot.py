"""Chatwoot simulator app: application API, platform API, SSO landing, webhooks, inspection."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from bridge.sim.chatwoot_admin import add_admin_routes
from bridge.sim.chatwoot_contacts import add_contact_routes
from bridge.sim.chatwoot_conversations import add_conversation_routes
from bridge.sim.chatwoot_dispatch import ChatwootDispatcher
from bridge.sim.chatwoot_http import HOOKS_KEY, STATE_KEY, auth_middleware, json_body
from bridge.sim.chatwoot_inboxes import add_inbox_routes
from bridge.sim.chatwoot_ops import (
    ChatwootOpError,
    create_conversation,
    create_message,
    run_automations,
)
from bridge.sim.chatwoot_platform import add_platform_routes, platform_auth
from bridge.sim.chatwoot_store import ChatwootState, Row
from bridge.sim.chatwoot_views import conversation_json, message_push
from bridge.sim.faults import install_faults


async def sim_email(request: web.Request) -> web.Response:
    """An email arrives at the mailbox of the email inbox whose address is `to` (IMAP fetch)."""
    state, hooks = request.app[STATE_KEY], request.app[HOOKS_KEY]
    body = await json_body(request)
    to, sender = str(body.get("to", "")).lower(), str(body.get("from", "")).lower()
    inbox = next(
        (
            i
            for i in state.inboxes.values()
            if i["channel_type"] == "Channel::Email" and i.get("email") == to
        ),
        None,
    )
    if inbox is None or "@" not in sender:
        return web.json_response({"error": f"no email inbox for {to!r}"}, status=404)
    contact = next((c for c in state.contacts.values() if c["email"] == sender), None)
    if contact is None:
        now = int(time.time())
        contact = {
            "id": state.next_id("contact") + 200,
            "name": body.get("from_name") or sender.split("@")[0],
            "email": sender,
            "phone_number": None,
            "identifier": None,
            "thumbnail": "",
            "blocked": False,
            "additional_attributes": {},
            "custom_attributes": {},
            "last_activity_at": now,
            "created_at": now,
        }
        state.contacts[contact["id"]] = contact
    try:
        conv = create_conversation(
            state,
            hooks,
            inbox_id=inbox["id"],
            contact_id=contact["id"],
            source_id=sender,
            additional_attributes={"mail_subject": str(body.get("subject", "")), "source": "email"},
            run_rules=False,
        )
        create_message(
            state,
            hooks,
            conv,
            content=str(body.get("body", "")),
            message_type="incoming",
            content_type="incoming_email",
            automation=True,
            sender=("Contact", contact["id"]),
        )
        # The rule sees the conversation with the customer's mail in it, as after an IMAP fetch.
        run_automations(state, hooks, "conversation_created", conv)
    except ChatwootOpError as exc:
        return web.json_response({"error": str(exc)}, status=exc.status)
    return web.json_response(conversation_json(state, conv), status=201)


def snapshot(state: ChatwootState) -> Row:
    def strip(row: Row) -> Row:
        return {
            k: (sorted(v) if isinstance(v, set) else v)
            for k, v in row.items()
            if not k.startswith("_")
        }

    return {
        "conversations": [
            {
                **conversation_json(state, c),
                "messages": [message_push(state, state.messages[m]) for m in c["message_ids"]],
            }
            for c in state.conversations.values()
        ],
        "contacts": list(state.contacts.values()),
        "contact_inboxes": list(state.contact_inboxes.values()),
        "inboxes": [strip(i) for i in state.inboxes.values()],
        "teams": [strip(t) for t in state.teams.values()],
        "users": [{k: v for k, v in u.items() if k != "password"} for u in state.users.values()],
        "account_users": list(state.account_users.values()),
        "agent_bots": list(state.agent_bots.values()),
        "automation_rules": list(state.automation_rules.values()),
        "webhooks": list(state.webhooks.values()),
        "emails_sent": state.emails_sent,
        "sso_sessions": state.sessions,
    }


async def sim_state(request: web.Request) -> web.Response:
    await request.app[HOOKS_KEY].drain()
    return web.json_response(snapshot(request.app[STATE_KEY]))


async def sim_deliveries(request: web.Request) -> web.Response:
    hooks = request.app[HOOKS_KEY]
    await hooks.drain()
    return web.json_response(hooks.deliveries)


async def blob(request: web.Request) -> web.Response:
    att = request.app[STATE_KEY].attachments.get(int(request.match_info["att_id"]))
    if att is None:
        return web.Response(status=404)
    return web.Response(body=att["_bytes"], content_type=att["content_type"])


async def _dispatcher_ctx(app: web.Application) -> Any:
    hooks = app[HOOKS_KEY]
    hooks.start()
    yield
    await hooks.stop()


def create_chatwoot_app(
    *,
    api_token: str,
    platform_token: str,
    account_id: int = 1,
    account_name: str = "MM All Electronics",
    admin_email: str = "admin@mmallelectronics.co.za",
    frontend_url: str = "http://127.0.0.1:3000",
) -> web.Application:
    """One account with an administrator whose access token is `api_token`."""
    state = ChatwootState(
        account={"id": account_id, "name": account_name},
        frontend_url=frontend_url,
        platform_token=platform_token,
    )
    state.add_user(
        name="Administrator", email=admin_email, role="administrator", access_token=api_token
    )
    app = web.Application(middlewares=[auth_middleware, platform_auth])
    app[STATE_KEY] = state
    app[HOOKS_KEY] = ChatwootDispatcher(state)
    app.cleanup_ctx.append(_dispatcher_ctx)
    install_faults(app)
    prefix = "/api/v1/accounts/{account_id:\\d+}"
    add_contact_routes(app, prefix)
    add_conversation_routes(app, prefix)
    add_inbox_routes(app, prefix)
    add_admin_routes(app, prefix)
    add_platform_routes(app)
    app.router.add_get("/rails/active_storage/blobs/{att_id:\\d+}/{name}", blob)
    app.router.add_post("/_sim/chatwoot/email", sim_email)
    app.router.add_get("/_sim/chatwoot/state", sim_state)
    app.router.add_get("/_sim/chatwoot/deliveries", sim_deliveries)
    return app
