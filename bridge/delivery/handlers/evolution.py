"""Sending to WhatsApp through Evolution; each result carries the new WhatsApp message id."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.delivery.outbox import Delivered, OutboxRoute
from bridge.flows import effects
from bridge.keys import UPSTREAMS
from bridge.state.records import OutboxItem

# Evolution blocks for `delay` while "typing"; a send may take a while.
SEND_TIMEOUT_S = 60.0


def evolution_routes(app: web.Application) -> dict[str, OutboxRoute]:
    async def send_text(item: OutboxItem) -> Delivered:
        p = item.payload
        sent = await app[UPSTREAMS].evolution.send_text(p["instance"], p["number"], p["text"])
        return Delivered({"wa_message_id": sent.key.id})

    async def send_media(item: OutboxItem) -> Delivered:
        p: dict[str, Any] = item.payload
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
        sent = await app[UPSTREAMS].evolution.send_whatsapp_audio(
            p["instance"], p["number"], p["audio"]
        )
        return Delivered({"wa_message_id": sent.key.id})

    return {
        effects.SEND_TEXT: OutboxRoute(send_text, feedback=True, timeout_s=SEND_TIMEOUT_S),
        effects.SEND_MEDIA: OutboxRoute(send_media, feedback=True, timeout_s=SEND_TIMEOUT_S),
        effects.SEND_AUDIO: OutboxRoute(send_audio, feedback=True, timeout_s=SEND_TIMEOUT_S),
    }
