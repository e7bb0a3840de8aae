"""Typebot calls; the bot's answer comes back to the flows as the item's result.

continueChat is not idempotent (a lost answer would advance the flow twice and may fire its
HTTP block again), so it is resent only when the request provably never left.
"""

from __future__ import annotations

from aiohttp import web

from bridge.delivery.outbox import Delivered, OutboxRoute
from bridge.flows import effects
from bridge.keys import UPSTREAMS
from bridge.state.records import OutboxItem


def typebot_routes(app: web.Application) -> dict[str, OutboxRoute]:
    async def start_chat(item: OutboxItem) -> Delivered:
        p = item.payload
        response = await app[UPSTREAMS].typebot.start_chat(
            p["public_id"], p["prefilled"], text_bubble_content_format="markdown"
        )
        return Delivered({"response": response.model_dump(mode="json", by_alias=True)})

    async def continue_chat(item: OutboxItem) -> Delivered:
        p = item.payload
        response = await app[UPSTREAMS].typebot.continue_chat(
            p["session_id"],
            p["text"],
            reply_id=p.get("reply_id"),
            text_bubble_content_format="markdown",
        )
        return Delivered({"response": response.model_dump(mode="json", by_alias=True)})

    return {
        effects.START_CHAT: OutboxRoute(start_chat, feedback=True),
        effects.CONTINUE_CHAT: OutboxRoute(continue_chat, feedback=True, resend_safe=False),
    }
