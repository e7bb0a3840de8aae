"""HTTP handlers of `/api/employees*` and `/api/audit` (admin bearer; DESIGN §6)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bridge.web.admin_auth import require_admin
from bridge.web.bodies import read_raw_json
from bridge.web.errors import ApiError
from provisioning.audit import list_audit
from provisioning.schemas import EmployeeIn, EmployeeOut, validation_error_details
from provisioning.service import DEFAULT_WAIT_S, Outcome, ProvisioningService
from provisioning.usernames import MAX_LOCAL_PART, USERNAME_RE

PROVISIONING_WAIT_S = web.AppKey("provisioning.wait_s", float)
IDEMPOTENCY_HEADER = "Idempotency-Key"
_MAX_IDEMPOTENCY_KEY = 200
_MAX_AUDIT_LIMIT = 1000


def _service(request: web.Request) -> ProvisioningService:
    return ProvisioningService(
        request.app, wait_s=request.app.get(PROVISIONING_WAIT_S, DEFAULT_WAIT_S)
    )


def _employee_json(employee: EmployeeOut) -> dict[str, Any]:
    return employee.model_dump(exclude_none=True)


def _username(request: web.Request) -> str:
    username = request.match_info["username"]
    if len(username) > MAX_LOCAL_PART or not USERNAME_RE.match(username):
        raise ApiError(404, "not_found", "no such employee")
    return username


def _idempotency_key(request: web.Request) -> str | None:
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > _MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            f"{IDEMPOTENCY_HEADER} must be 1 to {_MAX_IDEMPOTENCY_KEY} printable characters",
        )
    return key


async def _employee_in(request: web.Request) -> EmployeeIn:
    """415/400 as everywhere; 422 names every bad field (never echoing the input)."""
    _, document = await read_raw_json(request)
    try:
        return EmployeeIn.model_validate(document)
    except ValidationError as exc:
        details = validation_error_details(exc)
        fields = ", ".join(d["field"] or "body" for d in details)
        raise ApiError(
            422, "invalid_payload", f"invalid fields: {fields}", details=details
        ) from None


def _answer(outcome: Outcome, *, new_status: int) -> web.Response:
    status = new_status if outcome.complete else 202
    return web.json_response(_employee_json(outcome.employee), status=status)


async def handle_create_employee(request: web.Request) -> web.Response:
    require_admin(request)
    key = _idempotency_key(request)
    body = await _employee_in(request)
    outcome = await _service(request).create(body, idempotency_key=key)
    return _answer(outcome, new_status=201)


async def handle_list_employees(request: web.Request) -> web.Response:
    require_admin(request)
    employees = await _service(request).list()
    return web.json_response({"employees": [_employee_json(e) for e in employees]})


async def handle_get_employee(request: web.Request) -> web.Response:
    require_admin(request)
    employee = await _service(request).get(_username(request))
    if employee is None:
        raise ApiError(404, "not_found", "no such employee")
    return web.json_response(_employee_json(employee))


async def handle_retry_employee(request: web.Request) -> web.Response:
    require_admin(request)
    outcome = await _service(request).retry(_username(request))
    return _answer(outcome, new_status=200)


async def handle_disable_employee(request: web.Request) -> web.Response:
    require_admin(request)
    outcome = await _service(request).disable(_username(request))
    return web.json_response(_employee_json(outcome.employee))


def _int_param(request: web.Request, name: str, default: int | None, maximum: int) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(422, "invalid_query", f"{name} must be a positive integer", path=name)
    return min(int(raw), maximum)


async def handle_list_audit(request: web.Request) -> web.Response:
    require_admin(request)
    limit = _int_param(request, "limit", 100, _MAX_AUDIT_LIMIT) or 1
    before = _int_param(request, "before", None, 2**62)
    target = request.query.get("target") or None
    entries = await list_audit(
        _service(request).deps.db, limit=limit, target=target, before_id=before
    )
    return web.json_response({"entries": [e.as_json() for e in entries]})


def add_provisioning_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/employees", handle_create_employee)
    r.add_get("/api/employees", handle_list_employees)
    r.add_get("/api/employees/{username}", handle_get_employee)
    r.add_delete("/api/employees/{username}", handle_disable_employee)
    r.add_post("/api/employees/{username}/retry", handle_retry_employee)
    r.add_get("/api/audit", handle_list_audit)
