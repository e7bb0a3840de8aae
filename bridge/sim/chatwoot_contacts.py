"""Chatwoot application API: contacts, search/filter, contact_inboxes."""

from __future__ import annotations

import re
import time

from aiohttp import web

from bridge.sim.chatwoot_http import STATE_KEY, cw_error, int_or_none, json_body, not_found
from bridge.sim.chatwoot_ops import ChatwootOpError, ensure_contact_inbox
from bridge.sim.chatwoot_store import ChatwootState, Row
from bridge.sim.chatwoot_views import contact_json, conversation_json, inbox_json, inbox_slim

E164 = re.compile(r"\A\+[1-9]\d{1,14}\z".replace("\\z", "\\Z"))
PAGE = 15


def _validate(state: ChatwootState, data: Row, own_id: int | None) -> web.Response | None:
    phone = data.get("phone_number")
    if phone and not E164.match(str(phone)):
        return web.json_response(
            {"message": "Phone number should be in e164 format", "attributes": ["phone_number"]},
            status=422,
        )
    for attr, label in (
        ("email", "Email"),
        ("identifier", "Identifier"),
        ("phone_number", "Phone number"),
    ):
        value = data.get(attr)
        if value and any(
            c[attr] and str(c[attr]).lower() == str(value).lower() and c["id"] != own_id
            for c in state.contacts.values()
        ):
            return web.json_response(
                {"message": f"{label} has already been taken", "attributes": [attr]}, status=422
            )
    return None


async def create_contact(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await json_body(request)
    if (err := _validate(state, body, None)) is not None:
        return err
    now = int(time.time())
    contact: Row = {
        "id": state.next_id("contact") + 200,
        "name": body.get("name") or "",
        "email": (body.get("email") or None) and str(body["email"]).lower(),
        "phone_number": body.get("phone_number") or None,
        "identifier": body.get("identifier") or None,
        "thumbnail": "",
        "blocked": bool(body.get("blocked", False)),
        "additional_attributes": body.get("additional_attributes") or {},
        "custom_attributes": body.get("custom_attributes") or {},
        "last_activity_at": now,
        "created_at": now,
    }
    inbox_id = int_or_none(body.get("inbox_id"))
    if inbox_id is not None and inbox_id not in state.inboxes:
        return not_found()
    state.contacts[contact["id"]] = contact
    payload: Row = {"contact": contact_json(state, contact)}
    if inbox_id is not None:
        ci = ensure_contact_inbox(state, contact["id"], inbox_id, body.get("source_id"))
        payload["contact"] = contact_json(state, contact)
        payload["contact_inbox"] = {
            "inbox": inbox_json(state.inboxes[inbox_id]),
            "source_id": ci["source_id"],
        }
    return web.json_response({"payload": payload})


def _contact(request: web.Request) -> Row | None:
    cid = int_or_none(request.match_info.get("contact_id"))
    return request.app[STATE_KEY].contacts.get(cid or 0)


async def get_contact(request: web.Request) -> web.Response:
    contact = _contact(request)
    if contact is None:
        return not_found()
    return web.json_response({"payload": contact_json(request.app[STATE_KEY], contact)})


async def update_contact(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    contact = _contact(request)
    if contact is None:
        return not_found()
    body = await json_body(request)
    if (err := _validate(state, body, contact["id"])) is not None:
        return err
    for key in ("name", "email", "phone_number", "identifier", "blocked"):
        if key in body:
            contact[key] = body[key]
    for key in ("additional_attributes", "custom_attributes"):
        contact[key] = {**contact[key], **(body.get(key) or {})}  # merged, as Chatwoot does
    return web.json_response({"payload": contact_json(state, contact)})


def _page(request: web.Request, rows: list[Row]) -> web.Response:
    page = max(int_or_none(request.query.get("page")) or 1, 1)
    chunk = rows[(page - 1) * PAGE : page * PAGE]
    state = request.app[STATE_KEY]
    return web.json_response(
        {
            "meta": {"count": len(rows), "current_page": page, "has_more": len(rows) > page * PAGE},
            "payload": [contact_json(state, c) for c in chunk],
        }
    )


async def list_contacts(request: web.Request) -> web.Response:
    return _page(request, list(request.app[STATE_KEY].contacts.values()))


async def search_contacts(request: web.Request) -> web.Response:
    q = request.query.get("q", "").lower()
    if not q:
        return cw_error(422, "Specify search string with parameter q")
    rows = [
        c
        for c in request.app[STATE_KEY].contacts.values()
        if any(
            q in str(c[k] or "").lower() for k in ("name", "email", "phone_number", "identifier")
        )
    ]
    return _page(request, rows)


async def filter_contacts(request: web.Request) -> web.Response:
    body = await json_body(request)
    conditions = body.get("payload")
    if not isinstance(conditions, list) or not conditions:
        return cw_error(422, "Invalid attribute key")
    rows = []
    for contact in request.app[STATE_KEY].contacts.values():
        if not (contact["email"] or contact["phone_number"] or contact["identifier"]):
            continue
        hits = []
        for cond in conditions:
            key = cond.get("attribute_key")
            values = [str(v) for v in cond.get("values", [])]
            if key == "phone_number":
                values = ["+" + v.lstrip("+") for v in values]
            hit = str(contact.get(key) or "") in values
            hits.append(hit if cond.get("filter_operator") != "not_equal_to" else not hit)
        if all(hits):
            rows.append(contact)
    return _page(request, rows)


async def create_contact_inbox(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    contact = _contact(request)
    body = await json_body(request)
    inbox_id = int_or_none(body.get("inbox_id"))
    if contact is None or inbox_id not in state.inboxes:
        return not_found()
    try:
        ci = ensure_contact_inbox(state, contact["id"], inbox_id or 0, body.get("source_id"))
    except ChatwootOpError:
        # RecordNotUnique is not rescued on this endpoint: Rails answers 500.
        return web.json_response({"status": 500, "error": "Internal Server Error"}, status=500)
    return web.json_response(
        {"source_id": ci["source_id"], "inbox": inbox_slim(state.inboxes[ci["inbox_id"]])}
    )


async def contact_conversations(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    contact = _contact(request)
    if contact is None:
        return not_found()
    convs = sorted(
        (c for c in state.conversations.values() if c["contact_id"] == contact["id"]),
        key=lambda c: c["last_activity_at"],
        reverse=True,
    )[:20]
    return web.json_response({"payload": [conversation_json(state, c) for c in convs]})


def add_contact_routes(app: web.Application, prefix: str) -> None:
    r = app.router
    r.add_post(f"{prefix}/contacts", create_contact)
    r.add_get(f"{prefix}/contacts", list_contacts)
    r.add_get(f"{prefix}/contacts/search", search_contacts)
    r.add_post(f"{prefix}/contacts/filter", filter_contacts)
    r.add_get(f"{prefix}/contacts/{{contact_id:\\d+}}", get_contact)
    r.add_route("PUT", f"{prefix}/contacts/{{contact_id:\\d+}}", update_contact)
    r.add_patch(f"{prefix}/contacts/{{contact_id:\\d+}}", update_contact)
    r.add_post(f"{prefix}/contacts/{{contact_id:\\d+}}/contact_inboxes", create_contact_inbox)
    r.add_get(f"{prefix}/contacts/{{contact_id:\\d+}}/conversations", contact_conversations)
