"""Operations endpoints behind the admin token: dead letters and contact state."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from bridge.ids import ContactKey, InstanceName, WaJid
from bridge.keys import OUTBOX, REPOSITORY
from bridge.web.admin_auth import require_admin
from bridge.web.errors import ApiError


async def handle_list_dead_letters(request: web.Request) -> web.Response:
    require_admin(request)
    letters = await request.app[REPOSITORY].list_dead_letters(200)
    return web.json_response({"dead_letters": [asdict(letter) for letter in letters]})


async def handle_retry_dead_letter(request: web.Request) -> web.Response:
    require_admin(request)
    raw_id = request.match_info["id"]
    if not raw_id.isdigit() or len(raw_id) > 18:
        raise ApiError(404, "not_found", "no such dead letter")
    if not await request.app[REPOSITORY].requeue_dead(int(raw_id)):
        raise ApiError(404, "not_found", "no such dead letter")
    request.app[OUTBOX].wake()
    return web.json_response({"ok": True, "id": int(raw_id), "status": "pending"})


async def handle_get_contact(request: web.Request) -> web.Response:
    require_admin(request)
    key = ContactKey(InstanceName(request.match_info["instance"]), WaJid(request.match_info["jid"]))
    repository = request.app[REPOSITORY]
    contact = await repository.get_contact_by_alias(key)
    if contact is None:
        raise ApiError(404, "not_found", "no such contact")
    transitions = await repository.list_transitions(contact.id, limit=50)
    body: dict[str, Any] = {
        "id": contact.id,
        "instance": contact.instance,
        "wa_jid": contact.wa_jid,
        "wa_phone_jid": contact.wa_phone_jid,
        "wa_lid": contact.wa_lid,
        "state": str(contact.state),
        "department": contact.department,
        "bot_paused": contact.bot_paused,
        "cw_contact_id": contact.cw_contact_id,
        "cw_conversation_id": contact.cw_conversation_id,
        "cw_inbox_id": contact.cw_inbox_id,
        "transitions": [
            {
                "from": str(t.from_state),
                "to": str(t.to_state),
                "trigger": t.trigger,
                "reason": t.reason,
                "at_ms": t.at_ms,
            }
            for t in transitions
        ],
    }
    return web.json_response(body)


def add_admin_routes(app: web.Application) -> None:
    app.router.add_get("/api/dead-letters", handle_list_dead_letters)
    app.router.add_post("/api/dead-letters/{id}/retry", handle_retry_dead_letter)
    app.router.add_get("/api/contacts/{instance}/{jid}", handle_get_contact)
