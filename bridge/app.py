"""The aiohttp application factory: wiring only, no logic.

Resources start in this order and stop in reverse (cleanup contexts): storage (migrated),
upstream clients, then the inbox processor and outbox worker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from bridge.clock import Clock, SystemClock
from bridge.delivery.inbox import InboxProcessor
from bridge.delivery.outbox import OutboxRoute, OutboxWorker
from bridge.delivery.pressure import WebhookPressure
from bridge.departments import Departments, load_departments
from bridge.flows.context import FlowHandler
from bridge.flows.dispatch import build_dispatch
from bridge.flows.routes import setup_flows
from bridge.health import CheckResult, Readiness
from bridge.keys import (
    CLOCK,
    DEPARTMENTS,
    EVENT_ROUTES,
    INBOX,
    METRICS,
    OUTBOX,
    OUTBOX_ROUTES,
    PRESSURE,
    READINESS,
    REPOSITORY,
    SETTINGS,
    TRANSPORTS,
    UPSTREAMS,
)
from bridge.metrics import Metrics
from bridge.settings import Settings
from bridge.state.repository import open_repository
from bridge.upstreams import UpstreamTransports, build_upstreams
from bridge.web.admin import add_admin_routes
from bridge.web.errors import error_middleware, request_id_middleware
from bridge.web.health import add_health_routes
from bridge.web.metrics import add_metrics_route
from bridge.web.webhooks import add_webhook_routes
from provisioning.app import setup_provisioning
from provisioning.identity_app import setup_identity

__all__ = ["UpstreamTransports", "create_app"]

# A worker loop that has not turned for this long is reported as stuck by /readyz.
WORKER_STALL_MS = 30_000


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    repository = open_repository(app[SETTINGS].bridge_database_url, clock=app[CLOCK])
    await repository.start()
    try:
        await repository.migrate()
        app[REPOSITORY] = repository

        async def storage_check() -> CheckResult:
            await repository.ping()
            return CheckResult(True, repository.dialect)

        app[READINESS].add("storage", storage_check)
        yield
    finally:
        app[READINESS].remove("storage")
        await repository.close()


async def upstreams_ctx(app: web.Application) -> AsyncIterator[None]:
    upstreams = build_upstreams(app[SETTINGS], app[TRANSPORTS], app[CLOCK])
    app[UPSTREAMS] = upstreams
    try:
        yield
    finally:
        await upstreams.aclose()


async def workers_ctx(app: web.Application) -> AsyncIterator[None]:
    repository, clock = app[REPOSITORY], app[CLOCK]
    event_routes: dict[str, FlowHandler] = app[EVENT_ROUTES]
    outbox_routes: dict[str, OutboxRoute] = app[OUTBOX_ROUTES]
    metrics = app[METRICS]
    dispatch = build_dispatch(
        event_routes, repository, clock, app[SETTINGS], app[DEPARTMENTS], metrics
    )
    # Each wakes the other: processed events may have enqueued calls, and results of calls
    # come back as inbox events.
    pressure = app[PRESSURE]
    inbox = InboxProcessor(
        repository,
        dispatch,
        on_processed=lambda: outbox.wake(),
        metrics=metrics,
        clock=clock,
        pressure=pressure,
    )
    outbox = OutboxWorker(
        repository,
        outbox_routes,
        clock,
        on_feedback=inbox.poke,
        metrics=metrics,
        dispatch=dispatch,
        pressure=pressure,
    )
    app[OUTBOX], app[INBOX] = outbox, inbox
    outbox.start()
    inbox.start()

    async def workers_check() -> CheckResult:
        stalled = clock.now_ms() - outbox.last_loop_ms > WORKER_STALL_MS
        ok = outbox.running and inbox.running and not stalled
        detail = "running" if ok else "outbox or inbox worker is not running"
        return CheckResult(ok, detail)

    async def outbox_check() -> CheckResult:
        stats = await repository.outbox_stats(clock.now_ms())
        return CheckResult(
            True, f"pending={stats.pending} oldest_age_ms={stats.oldest_pending_age_ms}"
        )

    async def upstreams_check() -> CheckResult:
        # A failing upstream does not make the bridge unready (it still stores every webhook
        # and delivers later), but /readyz says which one fails and for how long.
        now = clock.now_ms()
        failing = [
            f"{target} {what} for {(now - since) // 1000} s"
            for target, (since, what) in sorted(outbox.failing.items())
        ]
        return CheckResult(True, "; ".join(failing) if failing else "ok")

    app[READINESS].add("workers", workers_check)
    app[READINESS].add("outbox", outbox_check)
    app[READINESS].add("upstreams", upstreams_check)
    try:
        yield
    finally:
        app[READINESS].remove("workers")
        app[READINESS].remove("outbox")
        app[READINESS].remove("upstreams")
        await inbox.stop(timeout_s=3.0)
        await outbox.stop(timeout_s=3.0)


def create_app(
    settings: Settings,
    *,
    transports: UpstreamTransports | None = None,
    clock: Clock | None = None,
    departments: Departments | None = None,
) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_id_middleware, error_middleware(settings.max_body_bytes)],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[READINESS] = Readiness()
    app[METRICS] = Metrics()
    app[TRANSPORTS] = transports or UpstreamTransports()
    app[PRESSURE] = WebhookPressure()
    app[DEPARTMENTS] = departments or load_departments(settings.bridge_departments_file)
    app[EVENT_ROUTES] = {}
    app[OUTBOX_ROUTES] = {}
    app.cleanup_ctx.extend([storage_ctx, upstreams_ctx, workers_ctx])
    add_health_routes(app)
    add_webhook_routes(app)
    add_admin_routes(app)
    add_metrics_route(app)
    setup_flows(app)
    setup_provisioning(app)
    setup_identity(app)
    return app
