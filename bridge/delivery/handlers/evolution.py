"""Sending to WhatsApp through Evolution; each result carries the new WhatsApp message id.

Evolution takes no idempotency key. Before any retry (an earlier attempt may have gone through:
the process died during the call, or the answer timed out or was a 5xx after the send), the chat's
latest messages are checked first: a message the instance sent since the item was recorded, with
the same content, means the send went through.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.delivery.outbox import Delivered, OutboxHandler, OutboxRoute
from bridge.errors import DeliveryError
from bridge.flows import effects
from bridge.keys import UPSTREAMS
from bridge.render.choices import ChoiceItem, build_buttons_payload, build_list_payload
from bridge.schemas.evolution_api import EvoSendResult
from bridge.state.records import OutboxItem
from bridge.whatsapp_text import extract_text

# Evolution blocks for `delay` while "typing"; a send may take a while.
SEND_TIMEOUT_S = 60.0


def _same_content(sent: EvoSendResult, payload: dict[str, Any]) -> bool:
    expected = payload.get("text") or payload.get("caption") or ""
    if "text" not in payload and sent.message_type == "conversation":
        return False  # a text cannot stand for a media send
    found = extract_text(sent.message)
    return (found.text if found else "") == expected


def evolution_routes(app: web.Application) -> dict[str, OutboxRoute]:
    async def already_sent(item: OutboxItem) -> str | None:
        if item.attempts <= 1:
            return None
        p = item.payload
        try:
            recent = await app[UPSTREAMS].evolution.find_messages(p["instance"], p["number"])
        except DeliveryError:
            return None  # no history (DB saving off): at least once rather than never
        since_s = item.created_at_ms // 1000 - 1
        for sent in recent:
            if sent.key.from_me and sent.message_timestamp >= since_s and _same_content(sent, p):
                return sent.key.id
        return None

    async def send_text(item: OutboxItem) -> Delivered:
        p = item.payload
        if (wa_message_id := await already_sent(item)) is not None:
            return Delivered({"wa_message_id": wa_message_id})
        sent = await app[UPSTREAMS].evolution.send_text(p["instance"], p["number"], p["text"])
        return Delivered({"wa_message_id": sent.key.id})

    async def send_media(item: OutboxItem) -> Delivered:
        p: dict[str, Any] = item.payload
        if (wa_message_id := await already_sent(item)) is not None:
            return Delivered({"wa_message_id": wa_message_id})
        sent = await app[UPSTREAMS].evolution.send_media(
            p["instance"],
            p["number"],
            mediatype=p["mediatype"],
            media=p["media"],
            mimetype=p.get("mimetype"),
            caption=p.get("caption") or None,
            file_name=p.get("file_name"),
        )
        return Delivered({"wa_message_id": sent.key.id})

    async def send_audio(item: OutboxItem) -> Delivered:
        p = item.payload
        if (wa_message_id := await already_sent(item)) is not None:
            return Delivered({"wa_message_id": wa_message_id})
        sent = await app[UPSTREAMS].evolution.send_whatsapp_audio(
            p["instance"], p["number"], p["audio"]
        )
        return Delivered({"wa_message_id": sent.key.id})

    async def send_choices(item: OutboxItem) -> Delivered:
        """The optional buttons/list menu (BRIDGE_CHOICE_BUTTONS); numbered text is the default."""
        p = item.payload
        items = [ChoiceItem(i["id"], i["content"]) for i in p["items"]]
        title = p.get("prompt") or "Please choose"
        if p["style"] == "buttons":
            body = build_buttons_payload(items, number=p["number"], title=title)
            sent = await app[UPSTREAMS].evolution.send_interactive(
                p["instance"], "sendButtons", body
            )
        else:
            body = build_list_payload(items, number=p["number"], title=title)
            sent = await app[UPSTREAMS].evolution.send_interactive(p["instance"], "sendList", body)
        return Delivered({"wa_message_id": sent.key.id})

    def send(handler: OutboxHandler) -> OutboxRoute:
        # Their results only record the sent id (echo suppression) and the agent message link.
        return OutboxRoute(handler, feedback=True, inline_feedback=True, timeout_s=SEND_TIMEOUT_S)

    return {
        effects.SEND_CHOICES: send(send_choices),
        effects.SEND_TEXT: send(send_text),
        effects.SEND_MEDIA: send(send_media),
        effects.SEND_AUDIO: send(send_audio),
    }
