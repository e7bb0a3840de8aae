"""Chatwoot application API: conversations, status, assignments, labels and messages."""

from __future__ import annotations

import mimetypes

from aiohttp import BodyPartReader, web

from bridge.sim.chatwoot_http import (
    HOOKS_KEY,
    STATE_KEY,
    actor,
    cw_error,
    int_or_none,
    json_body,
    not_found,
)
from bridge.sim.chatwoot_ops import ChatwootOpError, create_conversation, create_message, set_status
from bridge.sim.chatwoot_store import Row
from bridge.sim.chatwoot_views import agent_json, conversation_json, message_push

STATUSES = ("open", "pending", "resolved", "snoozed")


def _conv(request: web.Request) -> Row | None:
    return request.app[STATE_KEY].conversations.get(
        int_or_none(request.match_info["conversation_id"]) or 0
    )


async def create(request: web.Request) -> web.Response:
    state, hooks = request.app[STATE_KEY], request.app[HOOKS_KEY]
    body = await json_body(request)
    status = body.get("status")
    if status is not None and status not in STATUSES:
        return cw_error(422, f"'{status}' is not a valid status")
    try:
        conv = create_conversation(
            state,
            hooks,
            inbox_id=int_or_none(body.get("inbox_id")) or 0,
            contact_id=int_or_none(body.get("contact_id")) or 0,
            source_id=body.get("source_id"),
            status=status,
            team_id=int_or_none(body.get("team_id")),
            assignee_id=int_or_none(body.get("assignee_id")),
            additional_attributes=body.get("additional_attributes"),
            custom_attributes=body.get("custom_attributes"),
        )
        first = body.get("message")
        if isinstance(first, dict) and first.get("content"):
            kind, who = actor(request)
            create_message(
                state,
                hooks,
                conv,
                content=str(first["content"]),
                message_type=str(first.get("message_type", "outgoing")),
                sender=(kind, who["id"]),
            )
    except ChatwootOpError as exc:
        return cw_error(exc.status, str(exc))
    return web.json_response(conversation_json(state, conv))


async def show(request: web.Request) -> web.Response:
    conv = _conv(request)
    if conv is None:
        return not_found()
    return web.json_response(conversation_json(request.app[STATE_KEY], conv))


async def index(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    status = request.query.get("status", "open")
    inbox_id = int_or_none(request.query.get("inbox_id"))
    rows = [
        c
        for c in state.conversations.values()
        if (status == "all" or c["status"] == status)
        and (inbox_id is None or c["inbox_id"] == inbox_id)
    ]
    payload = [conversation_json(state, c) for c in rows]
    return web.json_response({"data": {"meta": {"all_count": len(rows)}, "payload": payload}})


async def toggle_status(request: web.Request) -> web.Response:
    state, hooks = request.app[STATE_KEY], request.app[HOOKS_KEY]
    conv = _conv(request)
    if conv is None:
        return not_found()
    body = await json_body(request)
    status = body.get("status")
    if status is None:
        status = "resolved" if conv["status"] == "open" else "open"
    if status not in STATUSES:
        return cw_error(422, f"'{status}' is not a valid status")
    kind, who = actor(request)
    if status == "open" and kind == "User" and conv["assignee_id"] is None:
        role = state.account_users.get(who["id"], {}).get("role")
        if role == "agent":  # an agent opening a conversation takes it
            conv["assignee_id"] = who["id"]
    set_status(state, hooks, conv, status)
    return web.json_response(
        {
            "meta": {},
            "payload": {
                "success": True,
                "conversation_id": conv["id"],
                "current_status": conv["status"],
                "snoozed_until": None,
            },
        }
    )


async def assignments(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    conv = _conv(request)
    if conv is None:
        return not_found()
    body = await json_body(request)
    if "team_id" in body:
        team = state.teams.get(int_or_none(body["team_id"]) or 0)
        conv["team_id"] = team["id"] if team else None
        return web.json_response(
            {k: v for k, v in team.items() if k != "members"} if team else None
        )
    user = state.users.get(int_or_none(body.get("assignee_id")) or 0)
    conv["assignee_id"] = user["id"] if user else None
    return web.json_response(agent_json(state, user) if user else None)


async def labels_index(request: web.Request) -> web.Response:
    conv = _conv(request)
    if conv is None:
        return not_found()
    return web.json_response({"payload": conv["labels"]})


async def labels_create(request: web.Request) -> web.Response:
    conv = _conv(request)
    if conv is None:
        return not_found()
    body = await json_body(request)
    conv["labels"] = sorted({str(x).lower() for x in body.get("labels") or []})  # replaces all
    return web.json_response({"payload": conv["labels"]})


async def custom_attributes(request: web.Request) -> web.Response:
    conv = _conv(request)
    if conv is None:
        return not_found()
    body = await json_body(request)
    conv["custom_attributes"] = dict(body.get("custom_attributes") or {})
    return web.json_response({"custom_attributes": conv["custom_attributes"]})


async def _multipart(request: web.Request) -> tuple[Row, list[int]]:
    state = request.app[STATE_KEY]
    fields: Row = {}
    attachment_ids: list[int] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        name = part.name or ""
        if name.startswith("attachments") and part.filename:
            data = await part.read()
            ctype = (
                part.headers.get("Content-Type")
                or mimetypes.guess_type(part.filename)[0]
                or "application/octet-stream"
            )
            major = ctype.split("/")[0]
            att_id = state.next_id("attachment")
            state.attachments[att_id] = {
                "id": att_id,
                "message_id": None,
                "account_id": state.account["id"],
                "file_type": major if major in ("image", "audio", "video") else "file",
                "extension": part.filename.rsplit(".", 1)[-1] if "." in part.filename else None,
                "data_url": f"{state.frontend_url}/rails/active_storage/blobs/{att_id}/"
                f"{part.filename}",
                "thumb_url": "",
                "file_size": len(data),
                "width": None,
                "height": None,
                "content_type": ctype,
                "_bytes": data,
                "_name": part.filename,
            }
            attachment_ids.append(att_id)
        else:
            fields[name] = await part.text()
    return fields, attachment_ids


async def create_msg(request: web.Request) -> web.Response:
    state, hooks = request.app[STATE_KEY], request.app[HOOKS_KEY]
    conv = _conv(request)
    if conv is None:
        return not_found()
    if request.content_type.startswith("multipart/"):
        body, attachment_ids = await _multipart(request)
    else:
        body, attachment_ids = await json_body(request), []
    kind, who = actor(request)
    sender = (kind, who["id"])
    if body.get("sender_type") == "AgentBot" and int_or_none(body.get("sender_id")):
        sender = ("AgentBot", int_or_none(body.get("sender_id")) or 0)
    attrs = body.get("content_attributes")
    try:
        msg = create_message(
            state,
            hooks,
            conv,
            content=body.get("content"),
            message_type=str(body.get("message_type") or "outgoing"),
            private=str(body.get("private", "false")).lower() == "true",
            sender=sender,
            source_id=body.get("source_id"),
            content_type=str(body.get("content_type") or "text"),
            content_attributes=attrs if isinstance(attrs, dict) else None,
            attachments=attachment_ids,
        )
    except ChatwootOpError as exc:
        return cw_error(exc.status, str(exc))
    out = message_push(state, msg)
    out["attachments"] = [
        {k: v for k, v in state.attachments[a].items() if not k.startswith("_")}
        for a in msg["attachments"]
    ]
    if body.get("echo_id"):
        out["echo_id"] = body["echo_id"]  # echoed in the response only, never stored
    return web.json_response(out)


async def list_msgs(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    conv = _conv(request)
    if conv is None:
        return not_found()
    payload = [message_push(state, state.messages[m]) for m in conv["message_ids"]]
    return web.json_response({"meta": {"labels": conv["labels"]}, "payload": payload})


async def update_msg(request: web.Request) -> web.Response:
    state, hooks = request.app[STATE_KEY], request.app[HOOKS_KEY]
    conv = _conv(request)
    msg = state.messages.get(int_or_none(request.match_info["message_id"]) or 0)
    if conv is None or msg is None or msg["conversation_id"] != conv["id"]:
        return not_found()
    body = await json_body(request)
    if body.get("status") in ("sent", "delivered", "read", "failed"):
        msg["status"] = body["status"]
        if body.get("external_error"):
            msg["content_attributes"]["external_error"] = body["external_error"]
    hooks.message_event(msg, "message_updated")
    return web.json_response(message_push(state, msg))


def add_conversation_routes(app: web.Application, prefix: str) -> None:
    r = app.router
    c = f"{prefix}/conversations/{{conversation_id:\\d+}}"
    r.add_post(f"{prefix}/conversations", create, name="conversations.create")
    r.add_get(f"{prefix}/conversations", index)
    r.add_get(c, show, name="conversations.show")
    r.add_post(f"{c}/toggle_status", toggle_status, name="conversations.toggle_status")
    r.add_post(f"{c}/assignments", assignments, name="assignments.create")
    r.add_get(f"{c}/labels", labels_index, name="labels.index")
    r.add_post(f"{c}/labels", labels_create, name="labels.create")
    r.add_post(f"{c}/custom_attributes", custom_attributes)
    r.add_post(f"{c}/messages", create_msg, name="messages.create")
    r.add_get(f"{c}/messages", list_msgs)
    r.add_patch(f"{c}/messages/{{message_id:\\d+}}", update_msg)
