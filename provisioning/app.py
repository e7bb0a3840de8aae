"""Wires employee provisioning into the bridge app: routes, outbox handlers, wait bound."""

from __future__ import annotations

from aiohttp import web

from bridge.delivery.outbox import OutboxRoute
from bridge.keys import OUTBOX_ROUTES
from provisioning.routes import PROVISIONING_WAIT_S, add_provisioning_routes
from provisioning.saga import DEPROVISION_KIND, PROVISION_KIND, make_outbox_handler
from provisioning.service import DEFAULT_WAIT_S

# A whole saga round: five steps, each a few upstream calls of up to 30 s.
SAGA_TIMEOUT_S = 300.0


def setup_provisioning(app: web.Application, *, wait_s: float = DEFAULT_WAIT_S) -> None:
    """Call while building the app (before it starts): the outbox reads its routes at start."""
    handler = make_outbox_handler(app)
    routes = app[OUTBOX_ROUTES]
    routes[PROVISION_KIND] = OutboxRoute(handler, timeout_s=SAGA_TIMEOUT_S)
    routes[DEPROVISION_KIND] = OutboxRoute(handler, timeout_s=SAGA_TIMEOUT_S)
    app[PROVISIONING_WAIT_S] = wait_s
    add_provisioning_routes(app)
