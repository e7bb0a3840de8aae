"""Evolution API v2.3.7 simulator: send and chat routes, webhook/settings config, instances."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from bridge.sim import evolution_config as cfg
from bridge.sim import evolution_payloads as p
from bridge.sim.evolution_history import find_messages
from bridge.sim.evolution_http import evo_error, instance_route, missing_props
from bridge.sim.evolution_integrations import add_integration_routes
from bridge.sim.evolution_interactive import send_buttons, send_list
from bridge.sim.evolution_phone import add_phone_routes
from bridge.sim.evolution_state import (
    STATE_KEY,
    EvolutionInstance,
    EvolutionState,
    client_session_ctx,
)
from bridge.sim.faults import install_faults


def _not_on_whatsapp(state: EvolutionState, jid: str) -> web.Response | None:
    number = jid.split("@")[0]
    if jid.endswith(p.WA_SUFFIX) and number in state.not_on_whatsapp:
        return evo_error(400, [{"jid": jid, "exists": False, "number": number}])
    return None


def _record_send(
    request: web.Request,
    inst: EvolutionInstance,
    route: str,
    request_body: dict[str, Any],
    response: dict[str, Any],
) -> web.Response:
    state = request.app[STATE_KEY]
    state.sent.append(
        {"instance": inst.name, "route": route, "request": request_body, "response": response}
    )
    state.emit(inst, "send.message", response)
    return web.json_response(response, status=201)


async def send_text(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    state = request.app[STATE_KEY]
    if (err := missing_props(body, "number", "text")) is not None:
        return err
    if not isinstance(body["text"], str) or not body["text"].strip():
        return evo_error(400, ["Text is required"])
    jid = p.wa_jid(str(body["number"]))
    if (err := _not_on_whatsapp(state, jid)) is not None:
        return err
    msg = p.sent_message(
        remote_jid=jid,
        message={"conversation": body["text"]},
        message_type="conversation",
        instance_id=inst.instance_id,
    )
    return _record_send(request, inst, "sendText", body, msg)


async def send_media(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    state = request.app[STATE_KEY]
    if (err := missing_props(body, "number", "mediatype", "media")) is not None:
        return err
    kind = body["mediatype"]
    if kind not in p.MEDIA_TYPES:
        return evo_error(
            400, ["instance.mediatype is not one of enum values: image,document,video,audio"]
        )
    jid = p.wa_jid(str(body["number"]))
    if (err := _not_on_whatsapp(state, jid)) is not None:
        return err
    msg_type, _ = p.MEDIA_TYPES[kind]
    mime = "image/jpeg" if kind == "image" else body.get("mimetype")  # images re-encoded to JPEG
    content = p.media_content(
        kind,
        mimetype=mime,
        caption=body.get("caption"),
        file_name=body.get("fileName"),
        size=len(str(body["media"])),
    )
    msg = p.sent_message(
        remote_jid=jid,
        message={msg_type: content},
        message_type=msg_type,
        instance_id=inst.instance_id,
    )
    return _record_send(request, inst, "sendMedia", body, msg)


async def send_audio(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    state = request.app[STATE_KEY]
    if (err := missing_props(body, "number", "audio")) is not None:
        return err
    jid = p.wa_jid(str(body["number"]))
    if (err := _not_on_whatsapp(state, jid)) is not None:
        return err
    content = p.media_content(
        "audio", mimetype=None, caption=None, file_name=None, size=len(str(body["audio"]))
    )
    msg = p.sent_message(
        remote_jid=jid,
        message={"audioMessage": content},
        message_type="audioMessage",
        instance_id=inst.instance_id,
    )
    return _record_send(request, inst, "sendWhatsAppAudio", body, msg)


async def mark_read(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    if (err := missing_props(body, "readMessages")) is not None:
        return err
    keys = body["readMessages"]
    if not isinstance(keys, list):
        return evo_error(400, ["instance.readMessages is not of a type(s) array"])
    state = request.app[STATE_KEY]
    for key in keys:
        # Evolution silently ignores @lid keys here.
        jid = str(key.get("remoteJid", "")) if isinstance(key, dict) else ""
        if jid.endswith((p.WA_SUFFIX, "@g.us")):
            state.read_receipts.append({"instance": inst.name, **key})
    return web.json_response({"message": "Read messages", "read": "success"}, status=201)


async def get_base64(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    if (err := missing_props(body, "message")) is not None:
        return err
    message = body["message"]
    key = message.get("key") if isinstance(message, dict) else None
    msg_id = key.get("id") if isinstance(key, dict) else None
    media = request.app[STATE_KEY].media.get(str(msg_id))
    if media is None:
        return evo_error(400, ["Message not found"])
    return web.json_response(
        {
            "mediaType": media.message_type,
            "fileName": media.file_name,
            "caption": media.caption,
            "size": {
                "fileLength": {"low": media.size, "high": 0, "unsigned": True},
                "height": 1600 if media.message_type == "imageMessage" else None,
                "width": 1200 if media.message_type == "imageMessage" else None,
            },
            "mimetype": media.mimetype,
            "base64": media.base64,
            "buffer": None,
        },
        status=201,
    )


def create_evolution_app(
    *,
    api_key: str,
    instance: str = "mmall",
    instance_token: str | None = None,
    owner_number: str = "27110000000",
) -> web.Application:
    """An Evolution API with one connected instance; more via `state.add_instance`."""

    app = web.Application()
    state = EvolutionState(api_key=api_key)
    state.add_instance(
        instance, token=instance_token or uuid.uuid4().hex.upper(), owner_number=owner_number
    )
    app[STATE_KEY] = state
    app.cleanup_ctx.append(client_session_ctx)
    install_faults(app)
    r = app.router
    r.add_get("/", cfg.root)
    r.add_get("/instance/fetchInstances", cfg.fetch_instances)
    r.add_post("/message/sendText/{instance}", instance_route(send_text))
    r.add_post("/message/sendMedia/{instance}", instance_route(send_media))
    r.add_post("/message/sendWhatsAppAudio/{instance}", instance_route(send_audio))
    r.add_post("/chat/markMessageAsRead/{instance}", instance_route(mark_read))
    r.add_post("/chat/getBase64FromMediaMessage/{instance}", instance_route(get_base64))
    r.add_post("/chat/findMessages/{instance}", instance_route(find_messages))
    r.add_post("/message/sendButtons/{instance}", instance_route(send_buttons))
    r.add_post("/message/sendList/{instance}", instance_route(send_list))
    r.add_post("/webhook/set/{instance}", instance_route(cfg.set_webhook))
    r.add_get("/webhook/find/{instance}", instance_route(cfg.find_webhook, needs_body=False))
    r.add_post("/settings/set/{instance}", instance_route(cfg.set_settings))
    r.add_get("/settings/find/{instance}", instance_route(cfg.find_settings, needs_body=False))
    add_phone_routes(app)
    add_integration_routes(app)
    return app
