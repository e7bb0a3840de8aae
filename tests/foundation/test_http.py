"""Error middleware, body limits, request ids and health endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel

from bridge.app import create_app
from bridge.health import CheckResult
from bridge.keys import READINESS
from bridge.web.bodies import read_model
from tests.factories import make_departments, make_settings


class Order(BaseModel):
    item: str
    quantity: int


async def _echo(request: web.Request) -> web.Response:
    order = await read_model(request, Order)
    return web.json_response(order.model_dump())


async def _boom(request: web.Request) -> web.Response:
    raise RuntimeError("database password is hunter2")


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient[web.Request, web.Application]:
    settings = make_settings(
        bridge_max_body_mb=0.001,  # ~1 KiB limit
        bridge_database_url=f"sqlite:///{tmp_path / 'bridge.db'}",
    )
    app = create_app(settings, departments=make_departments())
    app.router.add_post("/echo", _echo)
    app.router.add_get("/boom", _boom)
    result: TestClient[web.Request, web.Application] = await aiohttp_client(app)
    return result


def _error(body: dict[str, Any]) -> tuple[str, str]:
    return body["error"]["code"], body["error"]["message"]


async def test_valid_json_passes(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post("/echo", json={"item": "tv", "quantity": 2})
    assert response.status == 200
    assert await response.json() == {"item": "tv", "quantity": 2}


async def test_malformed_json_is_400(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post(
        "/echo", data=b'{"item": ', headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert _error(await response.json())[0] == "malformed_json"


async def test_invalid_utf8_is_400(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post(
        "/echo", data=b'{"item": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )
    assert response.status == 400


async def test_wrong_shape_is_422_with_path(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.post("/echo", json={"item": "tv", "quantity": "many"})
    assert response.status == 422
    body = await response.json()
    assert body["error"]["code"] == "invalid_payload"
    assert body["error"]["path"] == "quantity"


async def test_wrong_content_type_is_415(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post("/echo", data="item=tv", headers={"Content-Type": "text/plain"})
    assert response.status == 415
    assert _error(await response.json())[0] == "unsupported_media_type"


async def test_oversized_body_is_413(client: TestClient[web.Request, web.Application]) -> None:
    payload = json.dumps({"item": "x" * 5000, "quantity": 1})
    response = await client.post(
        "/echo", data=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert _error(await response.json())[0] == "payload_too_large"


async def test_oversized_chunked_body_is_413(
    client: TestClient[web.Request, web.Application],
) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 500

    response = await client.post(
        "/echo", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413


async def test_unknown_route_is_json_404(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/nope")
    assert response.status == 404
    assert _error(await response.json())[0] == "not_found"


async def test_wrong_method_is_json_405(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/echo")
    assert response.status == 405
    assert _error(await response.json())[0] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


async def test_unexpected_error_is_500_without_details(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/boom")
    assert response.status == 500
    text = await response.text()
    assert "hunter2" not in text
    assert _error(json.loads(text))[0] == "internal_error"


async def test_request_id_is_echoed_or_minted(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    minted = await client.get("/healthz")
    assert len(minted.headers["X-Request-Id"]) == 32
    error = await client.get("/nope", headers={"X-Request-Id": "err-1"})
    assert error.headers["X-Request-Id"] == "err-1"


async def test_healthz(client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["status"] == "ok"


async def test_readyz_reports_each_failing_check(
    client: TestClient[web.Request, web.Application],
) -> None:
    async def good() -> CheckResult:
        return CheckResult(True, "fine")

    async def bad() -> CheckResult:
        raise ConnectionError("db down")

    readiness = client.app[READINESS]
    readiness.add("extra", good)
    ready = await client.get("/readyz")
    assert ready.status == 200
    readiness.add("workers", bad)
    not_ready = await client.get("/readyz")
    assert not_ready.status == 503
    body = await not_ready.json()
    assert body["checks"]["extra"]["ok"] is True
    assert body["checks"]["storage"]["ok"] is True
    assert body["checks"]["workers"] == {"ok": False, "detail": "ConnectionError: db down"}
