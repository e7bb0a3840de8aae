"""Evolution's interactive sends: `sendButtons` (up to 3 reply buttons) and `sendList`."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bridge.sim import evolution_payloads as p
from bridge.sim.evolution_http import evo_error, missing_props
from bridge.sim.evolution_state import STATE_KEY, EvolutionInstance


def _record(
    request: web.Request, inst: EvolutionInstance, route: str, body: dict[str, Any], msg: Any
) -> web.Response:
    state = request.app[STATE_KEY]
    state.sent.append({"instance": inst.name, "route": route, "request": body, "response": msg})
    state.emit(inst, "send.message", msg)
    return web.json_response(msg, status=201)


async def send_buttons(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    if (err := missing_props(body, "number", "title", "buttons")) is not None:
        return err
    buttons = body["buttons"]
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return evo_error(400, ["instance.buttons does not meet minimum/maximum length of 1..3"])
    native = [
        {
            "name": "quick_reply",
            "buttonParamsJson": json.dumps(
                {"display_text": b.get("displayText"), "id": b.get("id")}
            ),
        }
        for b in buttons
    ]
    interactive = {
        "body": {"text": f"*{body['title']}*\n\n{body.get('description') or ''}\n"},
        "footer": {"text": body.get("footer") or ""},
        "nativeFlowMessage": {"buttons": native},
    }
    msg = p.sent_message(
        remote_jid=p.wa_jid(str(body["number"])),
        message={"viewOnceMessage": {"message": {"interactiveMessage": interactive}}},
        message_type="viewOnceMessage",
        instance_id=inst.instance_id,
    )
    return _record(request, inst, "sendButtons", body, msg)


async def send_list(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    required = ("number", "title", "description", "buttonText", "footerText", "sections")
    if (err := missing_props(body, *required)) is not None:
        return err
    list_message = {
        "title": body["title"],
        "description": body["description"],
        "buttonText": body["buttonText"],
        "footerText": body["footerText"],
        "listType": 1,
        "sections": body["sections"],
    }
    msg = p.sent_message(
        remote_jid=p.wa_jid(str(body["number"])),
        message={"listMessage": list_message},
        message_type="listMessage",
        instance_id=inst.instance_id,
    )
    return _record(request, inst, "sendList", body, msg)
