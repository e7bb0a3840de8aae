"""Bad input and wrong credentials change nothing: no rows, no upstream calls (respx)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from bridge.app import create_app
from bridge.keys import REPOSITORY
from bridge.upstreams import UpstreamTransports
from tests.factories import make_departments, make_settings
from tests.provisioning.employees.conftest import ADMIN, KAY


@dataclass
class Guarded:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    upstream: respx.Router

    async def counts(self) -> dict[str, int]:
        db = self.app[REPOSITORY].database
        tables = ("employees", "employee_steps", "invites", "audit_log", "outbox")
        return {t: int(await db.fetchval(f"SELECT COUNT(*) FROM {t}")) for t in tables}


@pytest.fixture
async def guarded(aiohttp_client: AiohttpClient, tmp_path: Path) -> Guarded:
    # Any upstream call would be recorded here (and answered with an error).
    upstream = respx.Router(assert_all_called=False)
    upstream.route().respond(500, json={"error": "must not be called"})
    transport = httpx.MockTransport(upstream.handler)
    settings = make_settings(bridge_database_url=f"sqlite:///{tmp_path / 'b.db'}")
    app = create_app(
        settings,
        departments=make_departments(),
        transports=UpstreamTransports(mailcow=transport, chatwoot=transport),
    )
    return Guarded(await aiohttp_client(app), app, upstream)


async def _assert_untouched(guarded: Guarded) -> None:
    assert await guarded.counts() == {
        "employees": 0,
        "employee_steps": 0,
        "invites": 0,
        "audit_log": 0,
        "outbox": 0,
    }
    assert guarded.upstream.calls.call_count == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": "Basic abc"}],
)
async def test_wrong_admin_token_is_401_and_nothing_happens(
    guarded: Guarded, headers: dict[str, str]
) -> None:
    for method, path in (
        ("POST", "/api/employees"),
        ("GET", "/api/employees"),
        ("GET", "/api/employees/kay.ntulo"),
        ("POST", "/api/employees/kay.ntulo/retry"),
        ("DELETE", "/api/employees/kay.ntulo"),
        ("GET", "/api/audit"),
    ):
        response = await guarded.client.request(method, path, json=KAY, headers=headers)
        assert response.status == 401, (method, path)
        assert (await response.json())["error"]["code"] == "unauthorized"
    await _assert_untouched(guarded)


async def test_every_bad_field_is_named_in_one_422(guarded: Guarded) -> None:
    body: dict[str, Any] = {
        "last_name": "Ntulo",
        "personal_email": "not-an-email",
        "department": "DTV",
        "role": "owner",
        "nickname": "kk",
    }

    response = await guarded.client.post("/api/employees", json=body, headers=ADMIN)
    error = (await response.json())["error"]

    assert response.status == 422
    fields = {d["field"] for d in error["details"]}
    assert fields == {"first_name", "personal_email", "role", "nickname"}
    assert "not-an-email" not in str(error)  # the input is never echoed
    await _assert_untouched(guarded)


async def test_unknown_department_lists_the_valid_ones(guarded: Guarded) -> None:
    response = await guarded.client.post(
        "/api/employees", json={**KAY, "department": "Plumbing"}, headers=ADMIN
    )
    error = (await response.json())["error"]

    assert response.status == 422
    assert error["code"] == "unknown_department"
    assert error["valid"] == ["DTV", "Sales"]
    assert "DTV, Sales" in error["message"]
    await _assert_untouched(guarded)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"first_name": "!!!"}, "first_name"),
        ({"last_name": "漢字"}, "last_name"),
        ({"personal_email": "kay@mmallelectronics.co.za"}, "personal_email"),
    ],
)
async def test_unusable_values_are_422_naming_the_field(
    guarded: Guarded, change: dict[str, str], field: str
) -> None:
    response = await guarded.client.post("/api/employees", json={**KAY, **change}, headers=ADMIN)
    error = (await response.json())["error"]

    assert response.status == 422
    assert [d["field"] for d in error["details"]] == [field]
    await _assert_untouched(guarded)


async def test_malformed_requests_get_400_or_415(guarded: Guarded) -> None:
    bad_json = await guarded.client.post(
        "/api/employees", data=b"{nope", headers={**ADMIN, "Content-Type": "application/json"}
    )
    form = await guarded.client.post("/api/employees", data={"a": "b"}, headers=ADMIN)
    bad_key = await guarded.client.post(
        "/api/employees", json=KAY, headers={**ADMIN, "Idempotency-Key": "x" * 300}
    )

    assert bad_json.status == 400
    assert form.status == 415
    assert bad_key.status == 400
    await _assert_untouched(guarded)


async def test_mailcow_unreachable_during_the_name_check_is_503_without_rows(
    guarded: Guarded,
) -> None:
    response = await guarded.client.post("/api/employees", json=KAY, headers=ADMIN)

    assert response.status == 503
    assert (await response.json())["error"]["code"] == "upstream_unavailable"
    counts = await guarded.counts()
    assert counts["employees"] == 0
    assert counts["outbox"] == 0
    audit = await guarded.client.get("/api/audit", headers=ADMIN)
    [entry] = (await audit.json())["entries"]
    assert (entry["actor"], entry["action"], entry["outcome"]) == (
        "admin",
        "employee.create",
        "upstream_unavailable",
    )
