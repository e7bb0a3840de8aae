"""`/hub/employees`: administrators list, add, retry and disable employees from the portal.

The page calls the same ProvisioningService as `/api/employees`, acting as `staff:<username>`
in the audit log. Every POST carries the session's CSRF token; the add form also carries a
one-time Idempotency-Key, so a double submit never creates `kay.ntulo1`.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from bridge.keys import DEPARTMENTS
from bridge.web.errors import ApiError
from provisioning.identity.forms import read_fields, text_field, validate
from provisioning.identity.guards import csrf_ok, csrf_refused, refuse
from provisioning.identity.portal import staff_page_guard
from provisioning.identity.rendering import render_page
from provisioning.identity.request_info import redirect
from provisioning.identity.web_session import SignedIn
from provisioning.routes import PROVISIONING_WAIT_S
from provisioning.schemas import STEP_NAMES, EmployeeIn
from provisioning.service import DEFAULT_WAIT_S, ProvisioningService
from provisioning.usernames import MAX_LOCAL_PART, USERNAME_RE

EMPLOYEES_PATH = "/hub/employees"
_NOTICES = {
    "created": "Employee added.",
    "retried": "Provisioning resumed.",
    "disabled": "Employee disabled: sessions ended, mailbox and Chatwoot access removed.",
}
_FORM_FIELDS = ("first_name", "last_name", "personal_email", "department", "role", "phone")


async def _admin_guard(request: web.Request) -> SignedIn | web.Response:
    guard = await staff_page_guard(request)
    if isinstance(guard, web.Response):
        return guard
    if not guard.account.is_admin:
        return refuse(True, 403, "forbidden", "Only administrators can manage employees.")
    return guard


def _service(request: web.Request) -> ProvisioningService:
    return ProvisioningService(
        request.app, wait_s=request.app.get(PROVISIONING_WAIT_S, DEFAULT_WAIT_S)
    )


def _actor(signed_in: SignedIn) -> str:
    return f"staff:{signed_in.account.username}"


async def _page(
    request: web.Request,
    signed_in: SignedIn,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    employees = await _service(request).list()
    notice = _NOTICES.get(request.query.get("notice", ""))
    return render_page(
        "employees.html",
        status=status,
        title="Employees",
        account=signed_in.account,
        csrf_token=signed_in.session.csrf_token,
        employees=employees,
        step_names=STEP_NAMES,
        departments=request.app[DEPARTMENTS].department,
        notice=notice,
        subject=request.query.get("username", ""),
        errors=errors or [],
        form=form or {},
        idempotency_key=secrets.token_urlsafe(16),
    )


async def employees_list(request: web.Request) -> web.Response:
    guard = await _admin_guard(request)
    if isinstance(guard, web.Response):
        return guard
    return await _page(request, guard)


async def employees_add(request: web.Request) -> web.Response:
    guard = await _admin_guard(request)
    if isinstance(guard, web.Response):
        return guard
    fields = await read_fields(request)
    if not csrf_ok(request, guard, fields):
        return csrf_refused(True)
    form = {name: text_field(fields, name).strip() for name in _FORM_FIELDS}
    body = {key: value for key, value in form.items() if value or key != "phone"}
    parsed = validate(EmployeeIn, body)
    if not isinstance(parsed, EmployeeIn):
        return await _page(request, guard, status=422, errors=parsed, form=form)
    key = text_field(fields, "idempotency_key")[:200] or None
    try:
        outcome = await _service(request).create(parsed, idempotency_key=key, actor=_actor(guard))
    except ApiError as exc:
        return await _page(request, guard, status=exc.status, errors=[exc.message], form=form)
    return redirect(f"{EMPLOYEES_PATH}?notice=created&username={outcome.employee.username}")


def _target(request: web.Request) -> str | None:
    username = request.match_info["username"]
    if len(username) > MAX_LOCAL_PART or not USERNAME_RE.match(username):
        return None
    return username


async def _action(request: web.Request, action: str) -> web.Response:
    guard = await _admin_guard(request)
    if isinstance(guard, web.Response):
        return guard
    fields = await read_fields(request)
    if not csrf_ok(request, guard, fields):
        return csrf_refused(True)
    username = _target(request)
    if username is None:
        return refuse(True, 404, "not_found", "No such employee.")
    service = _service(request)
    try:
        if action == "retry":
            await service.retry(username, actor=_actor(guard))
        else:
            await service.disable(username, actor=_actor(guard))
    except ApiError as exc:
        return await _page(request, guard, status=exc.status, errors=[exc.message])
    notice = "retried" if action == "retry" else "disabled"
    return redirect(f"{EMPLOYEES_PATH}?notice={notice}&username={username}")


async def employees_retry(request: web.Request) -> web.Response:
    return await _action(request, "retry")


async def employees_disable(request: web.Request) -> web.Response:
    return await _action(request, "disable")


def add_employees_page_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(EMPLOYEES_PATH, employees_list)
    r.add_post(EMPLOYEES_PATH, employees_add)
    r.add_post(f"{EMPLOYEES_PATH}/{{username}}/retry", employees_retry)
    r.add_post(f"{EMPLOYEES_PATH}/{{username}}/disable", employees_disable)
