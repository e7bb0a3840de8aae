"""Fault injection shared by every simulator: the next N requests answer an error, drop or stall."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

FaultMode = Literal["status", "drop", "delay"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FaultSpec(BaseModel):
    """Body of `POST /_sim/faults`."""

    model_config = ConfigDict(extra="ignore")

    count: int = Field(default=1, ge=0)
    mode: FaultMode = "status"
    status: int = Field(default=503, ge=100, le=599)
    body: Any = None
    delay_s: float = Field(default=1.0, ge=0, le=120)
    path_prefix: str = ""


@dataclass
class FaultInjector:
    """Queue of pending faults; `/_sim/...` routes are never affected."""

    pending: list[FaultSpec] = field(default_factory=list)
    injected: int = 0

    def add(self, spec: FaultSpec) -> None:
        if spec.count > 0:
            self.pending.append(spec)

    def clear(self) -> None:
        self.pending.clear()

    def _take(self, path: str) -> FaultSpec | None:
        for spec in self.pending:
            if path.startswith(spec.path_prefix):
                spec.count -= 1
                if spec.count <= 0:
                    self.pending.remove(spec)
                self.injected += 1
                return spec
        return None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_sim/"):
            return await handler(request)
        spec = self._take(request.path)
        if spec is None:
            return await handler(request)
        if spec.mode == "delay":
            await asyncio.sleep(spec.delay_s)
            return await handler(request)
        if spec.mode == "drop":
            # Closing the socket without an answer looks like a crash or network cut to the client.
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=499)
        body = spec.body if spec.body is not None else {"error": "simulated fault"}
        return web.Response(
            status=spec.status, text=json.dumps(body), content_type="application/json"
        )

    async def handle_post(self, request: web.Request) -> web.Response:
        try:
            spec = FaultSpec.model_validate(await request.json())
        except (ValidationError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        self.add(spec)
        return web.json_response(self.snapshot())

    async def handle_delete(self, request: web.Request) -> web.Response:
        self.clear()
        return web.json_response(self.snapshot())

    async def handle_get(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {"pending": [s.model_dump() for s in self.pending], "injected": self.injected}


def install_faults(app: web.Application) -> FaultInjector:
    """Add the middleware and the `/_sim/faults` routes; call before the app is frozen."""
    injector = FaultInjector()
    app.middlewares.insert(0, injector.middleware)  # before auth: faults hit every caller
    app.router.add_post("/_sim/faults", injector.handle_post)
    app.router.add_get("/_sim/faults", injector.handle_get)
    app.router.add_delete("/_sim/faults", injector.handle_delete)
    return injector
