"""Mailcow simulator: HTTP 200 with success/danger arrays exactly like the contract samples."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.sim.mailcow import create_mailcow_app
from tests.contracts_dir import load_contract

KEY = "ABCDEF-ABCDEF-ABCDEF-ABCDEF-ABCDEF"
H = {"X-API-Key": KEY}
EX = "mailcow/examples/"


@pytest.fixture
async def mc(aiohttp_client: Any) -> Any:
    return await aiohttp_client(create_mailcow_app(api_key=KEY, domains=("example.com",)))


async def _post(mc: Any, path: str, body: Any) -> tuple[int, Any]:
    resp = await mc.post(path, json=body, headers=H)
    return resp.status, await resp.json()


async def test_add_then_duplicate_matches_samples(mc: Any) -> None:
    request = load_contract(EX + "add-mailbox.request.json")
    assert await _post(mc, "/api/v1/add/mailbox", request) == (
        200,
        load_contract(EX + "add-mailbox.response.success.json"),
    )
    assert await _post(mc, "/api/v1/add/mailbox", request) == (
        200,
        load_contract(EX + "add-mailbox.response.object-exists.json"),
    )


async def test_get_edit_delete_lifecycle(mc: Any) -> None:
    await _post(mc, "/api/v1/add/mailbox", load_contract(EX + "add-mailbox.request.json"))
    box = await (await mc.get("/api/v1/get/mailbox/jane.doe@example.com", headers=H)).json()
    assert box["username"] == "jane.doe@example.com"
    assert box["quota"] == 3072 * 1048576
    assert "password" not in box
    assert "_password" not in box
    assert await _post(
        mc, "/api/v1/edit/mailbox", load_contract(EX + "edit-mailbox-deactivate.request.json")
    ) == (200, load_contract(EX + "edit-mailbox-deactivate.response.success.json"))
    box = await (await mc.get("/api/v1/get/mailbox/jane.doe@example.com", headers=H)).json()
    assert box["active"] == "0"
    aliases = await (await mc.get("/api/v1/get/alias/all", headers=H)).json()
    assert [a["address"] for a in aliases] == ["jane.doe@example.com"]
    delete = load_contract(EX + "delete-mailbox.request.json")
    assert await _post(mc, "/api/v1/delete/mailbox", delete) == (
        200,
        load_contract(EX + "delete-mailbox.response.success.json"),
    )
    assert await _post(mc, "/api/v1/delete/mailbox", delete) == (
        200,
        load_contract(EX + "delete-mailbox.response.not-found.json"),
    )
    resp = await mc.get("/api/v1/get/mailbox/jane.doe@example.com", headers=H)
    assert await resp.json() == load_contract(EX + "get-mailbox.response.not-found.json")


async def test_unknown_domain_and_weak_password_are_danger(aiohttp_client: Any) -> None:
    app = create_mailcow_app(
        api_key=KEY, domains=("example.com",), policy={"length": "12", "numbers": "1"}
    )
    mc = await aiohttp_client(app)
    body = {"local_part": "a.b", "domain": "other.org", "password": "x", "password2": "x"}
    status, out = await _post(mc, "/api/v1/add/mailbox", body)
    assert (status, out[0]["type"], out[0]["msg"]) == (200, "danger", "access_denied")
    body["domain"] = "example.com"
    status, out = await _post(mc, "/api/v1/add/mailbox", body)
    assert (status, out[0]["msg"], out[0]["log"]) == (
        200,
        "password_complexity",
        ["password_check", None, None],
    )
    policy = await (await mc.get("/api/v1/get/passwordpolicy", headers=H)).json()
    assert policy["length"] == "12"


async def test_auth_errors_and_routes(mc: Any) -> None:
    resp = await mc.post("/api/v1/add/mailbox", json={}, headers={"X-API-Key": "WRONG-KEY"})
    assert resp.status == 401
    assert await resp.json() == load_contract(EX + "error.401.authentication-failed.json")
    resp = await mc.get("/api/v1/get/mailbox/all")
    assert (resp.status, await resp.text()) == (200, "")
    resp = await mc.get("/api/v1/add/mailbox", headers=H)
    assert resp.status == 405
    resp = await mc.get("/api/v1/get/nothing/all", headers=H)
    assert resp.status == 404
    assert await (await mc.get("/api/v1/get/mailbox/all", headers=H)).json() == {}
    domains = await (await mc.get("/api/v1/get/domain/all", headers=H)).json()
    assert [d["domain_name"] for d in domains] == ["example.com"]


async def test_fault_hook_fails_the_next_calls(mc: Any) -> None:
    await mc.post("/_sim/mailcow/faults", json={"count": 1, "kind": "500"})
    await mc.post("/_sim/mailcow/faults", json={"count": 1, "kind": "danger"})
    request = load_contract(EX + "add-mailbox.request.json")
    resp = await mc.post("/api/v1/add/mailbox", json=request, headers=H)
    assert resp.status == 500
    status, out = await _post(mc, "/api/v1/add/mailbox", request)
    assert (status, out[0]["type"]) == (200, "danger")
    status, out = await _post(mc, "/api/v1/add/mailbox", request)
    assert out[-1]["msg"] == ["mailbox_added", "jane.doe@example.com"]
