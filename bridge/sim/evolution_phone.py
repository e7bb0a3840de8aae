"""The simulated phone side of Evolution: inbound messages → `messages.upsert`, plus inspection."""

from __future__ import annotations

import base64
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bridge.sim import evolution_payloads as p
from bridge.sim.evolution_state import STATE_KEY, StoredMedia


class InboundMedia(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["image", "audio", "video", "document"]
    mimetype: str | None = None
    caption: str | None = None
    file_name: str | None = None
    base64: str = base64.b64encode(b"simulated media bytes").decode()


class InboundMessage(BaseModel):
    """Body of `POST /_sim/evolution/inbound`: what a customer does on their phone."""

    model_config = ConfigDict(extra="ignore")

    instance: str | None = None
    from_phone: str | None = None
    from_lid: str | None = None
    push_name: str = ""
    from_me: bool = False
    id: str | None = None
    text: str | None = None
    media: InboundMedia | None = None
    list_reply: dict[str, str] | None = None
    button_reply: dict[str, str] | None = None
    quoted_id: str | None = None
    wait: bool = True

    @model_validator(mode="after")
    def _one_sender_one_content(self) -> InboundMessage:
        if not (self.from_phone or self.from_lid):
            raise ValueError("from_phone or from_lid is required")
        kinds = [self.text, self.media, self.list_reply, self.button_reply]
        if sum(k is not None for k in kinds) != 1:
            raise ValueError("exactly one of text, media, list_reply, button_reply")
        return self


def _content(
    msg: InboundMessage, message_id: str
) -> tuple[dict[str, Any], str, StoredMedia | None]:
    if msg.text is not None:
        return p.text_message(msg.text), "conversation", None
    if msg.list_reply is not None:
        title = msg.list_reply.get("title", "")
        return (
            p.list_reply_message(title, msg.list_reply.get("row_id", "")),
            "listResponseMessage",
            None,
        )
    if msg.button_reply is not None:
        text = msg.button_reply.get("text", "")
        return (
            p.buttons_reply_message(text, msg.button_reply.get("id", "")),
            "buttonsResponseMessage",
            None,
        )
    assert msg.media is not None
    m = msg.media
    msg_type, default_mime = p.MEDIA_TYPES[m.type]
    size = len(base64.b64decode(m.base64))
    content = p.media_content(
        m.type, mimetype=m.mimetype, caption=m.caption, file_name=m.file_name, size=size
    )
    ext = (m.mimetype or default_mime).split("/")[-1].split(";")[0]
    stored = StoredMedia(
        message_type=msg_type,
        mimetype=m.mimetype or default_mime,
        caption=m.caption,
        file_name=m.file_name or f"{message_id}.{ext}",
        base64=m.base64,
        size=size,
    )
    return (
        {msg_type: content, "messageContextInfo": {"deviceListMetadataVersion": 2}},
        msg_type,
        stored,
    )


async def inbound(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        msg = InboundMessage.model_validate(await request.json())
    except (ValidationError, ValueError) as exc:
        return web.json_response({"error": str(exc)}, status=400)
    name = msg.instance or next(iter(state.instances))
    inst = state.instances.get(name)
    if inst is None:
        return web.json_response({"error": f"unknown instance {name}"}, status=404)
    message_id = msg.id or p.new_phone_message_id()
    message, msg_type, stored = _content(msg, message_id)
    if stored is not None:
        state.media[message_id] = stored  # kept even with base64 off, for getBase64FromMediaMessage
        if inst.webhook.base64:
            message["base64"] = stored.base64
    context = None
    if msg.quoted_id:
        context = {
            "stanzaId": msg.quoted_id,
            "participant": inst.owner_jid,
            "quotedMessage": {"conversation": ""},
        }
    key = p.inbound_key(
        from_phone=msg.from_phone, from_lid=msg.from_lid, from_me=msg.from_me, message_id=message_id
    )
    data = p.inbound_data(
        key=key,
        push_name=msg.push_name,
        message=message,
        message_type=msg_type,
        instance_id=inst.instance_id,
        context_info=context,
    )
    record = state.emit(inst, "messages.upsert", data)
    if record is not None and msg.wait:
        await state.drain()
    return web.json_response(
        {"data": data, "delivery": record.as_dict() if record else None}, status=201
    )


async def list_sent(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].sent)


async def list_deliveries(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    if request.query.get("wait"):
        await state.drain()
    return web.json_response([d.as_dict() for d in state.deliveries])


async def list_reads(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].read_receipts)


async def configure(request: web.Request) -> web.Response:
    """Tune retry policy and numbers that are not on WhatsApp."""
    state = request.app[STATE_KEY]
    body = await request.json()
    retry = body.get("retry") or {}
    for name in ("max_attempts", "initial_delay_s", "max_delay_s", "timeout_s"):
        if name in retry:
            setattr(state.retry, name, type(getattr(state.retry, name))(retry[name]))
    if "not_on_whatsapp" in body:
        state.not_on_whatsapp = {str(n) for n in body["not_on_whatsapp"]}
    if "server_url" in body:
        state.server_url = str(body["server_url"])
    return web.json_response(
        {"retry": vars(state.retry), "not_on_whatsapp": sorted(state.not_on_whatsapp)}
    )


def add_phone_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/_sim/evolution/inbound", inbound)
    r.add_get("/_sim/evolution/sent", list_sent)
    r.add_get("/_sim/evolution/deliveries", list_deliveries)
    r.add_get("/_sim/evolution/reads", list_reads)
    r.add_post("/_sim/evolution/config", configure)
