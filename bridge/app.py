"""The aiohttp application factory: wiring only, no logic."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from aiohttp import web

from bridge.clock import Clock, SystemClock
from bridge.health import Readiness
from bridge.keys import CLOCK, READINESS, SETTINGS
from bridge.settings import Settings
from bridge.web.errors import error_middleware, request_id_middleware
from bridge.web.health import add_health_routes


@dataclass(frozen=True, slots=True)
class UpstreamTransports:
    """httpx transports per upstream; tests inject respx/mock transports here."""

    evolution: httpx.AsyncBaseTransport | None = None
    typebot: httpx.AsyncBaseTransport | None = None
    chatwoot: httpx.AsyncBaseTransport | None = None
    mailcow: httpx.AsyncBaseTransport | None = None


def create_app(
    settings: Settings,
    *,
    transports: UpstreamTransports | None = None,
    clock: Clock | None = None,
) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_id_middleware, error_middleware(settings.max_body_bytes)],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[READINESS] = Readiness()
    add_health_routes(app)
    return app
