"""Outbox delivery handlers: the only place the bridge calls its upstreams for the flows."""

from __future__ import annotations

from aiohttp import web

from bridge.delivery.handlers.chatwoot import chatwoot_routes
from bridge.delivery.handlers.evolution import evolution_routes
from bridge.delivery.handlers.typebot import typebot_routes
from bridge.delivery.outbox import OutboxRoute


def flow_outbox_routes(app: web.Application) -> dict[str, OutboxRoute]:
    return {**evolution_routes(app), **typebot_routes(app), **chatwoot_routes(app)}
