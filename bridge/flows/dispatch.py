"""Routing of stored events to flow handlers: the whole table is data, built in one place."""

from __future__ import annotations

import logging

from bridge.clock import Clock
from bridge.delivery.inbox import Dispatch
from bridge.departments import Departments
from bridge.flows.context import EventRoutes, FlowContext
from bridge.metrics import Metrics
from bridge.settings import Settings
from bridge.state.records import InboundEvent
from bridge.state.repository import Repository

log = logging.getLogger(__name__)


def build_dispatch(
    routes: EventRoutes,
    repository: Repository,
    clock: Clock,
    settings: Settings,
    departments: Departments,
    metrics: Metrics | None = None,
) -> Dispatch:
    """The inbox processor's callback: one FlowContext per event, the handler by event kind."""

    async def dispatch(event: InboundEvent) -> None:
        handler = routes.get(event.kind)
        if handler is None:
            log.debug("no flow for %s; event %s acknowledged", event.kind, event.id)
            return
        await handler(FlowContext(repository, clock, settings, departments, metrics), event)

    return dispatch
