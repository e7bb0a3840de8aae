"""`GET /metrics` in Prometheus text format (bind it privately: see config/nginx)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bridge.keys import CLOCK, METRICS, REPOSITORY


async def handle_metrics(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    stats = await request.app[REPOSITORY].outbox_stats(request.app[CLOCK].now_ms())
    metrics.outbox_depth.set(stats.pending)
    metrics.outbox_oldest_age.set(stats.oldest_pending_age_ms / 1000)
    response = web.Response(body=metrics.render())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def add_metrics_route(app: web.Application) -> None:
    app.router.add_get("/metrics", handle_metrics)
