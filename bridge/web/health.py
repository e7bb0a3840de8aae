"""`/healthz` (process is up) and `/readyz` (storage reachable, workers running)."""

from __future__ import annotations

from aiohttp import web

from bridge import __version__
from bridge.keys import READINESS


async def handle_healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "version": __version__})


async def handle_readyz(request: web.Request) -> web.Response:
    results = await request.app[READINESS].run()
    ready = all(result.ok for result in results.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {
            name: {"ok": result.ok, "detail": result.detail} for name, result in results.items()
        },
    }
    return web.json_response(body, status=200 if ready else 503)


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/readyz", handle_readyz)
