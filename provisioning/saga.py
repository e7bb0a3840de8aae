"""The persisted provisioning saga: steps run in order through the outbox, forward recovery.

Each outbox item of kind `provisioning.step` runs the steps not yet done. A retryable error
leaves the step `pending` and re-raises (the outbox reschedules with backoff); a permanent one
marks the step `failed` and the employee `failed` with the reason, and the saga stops until
`POST /api/employees/{username}/retry` queues a new round. Every step is idempotent, so a round
that runs twice (lease expiry, two replicas, a retry racing a backoff) does no harm.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.delivery.backoff import BackoffPolicy
from bridge.delivery.outbox import Delivered, OutboxHandler
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from bridge.state.records import OutboxItem
from bridge.state.repository import Repository
from provisioning.audit import SYSTEM_ACTOR, record_audit
from provisioning.context import ProvisioningDeps, deps_from_app
from provisioning.schemas import STEP_NAMES, StepName, StepStatus
from provisioning.step_chatwoot import (
    join_inboxes,
    join_team,
    provision_chatwoot_user,
    remove_chatwoot_access,
)
from provisioning.step_invite import send_invite
from provisioning.step_mailbox import deactivate_mailbox, provision_mailbox
from provisioning.store import (
    Employee,
    get_employee,
    get_steps,
    mark_round_ran,
    set_step,
    update_employee,
)

log = logging.getLogger(__name__)

PROVISION_KIND = "provisioning.step"
DEPROVISION_KIND = "provisioning.deprovision"
# Deprovisioning progress is kept with the steps but is not part of the API's `steps`.
DEPROVISION_STEPS = ("disable_mailbox", "disable_chatwoot")
_MAX_ERROR_CHARS = 500


def outbox_item(kind: str, username: str, round_no: int, now_ms: int) -> OutboxItem:
    """One item per round: a retry gets a new dedupe key, a replayed round does not."""
    return OutboxItem(
        kind=kind,
        dedupe_key=f"{kind}:{username}:{round_no}",
        payload={"username": username, "round": round_no},
        contact_id=None,
        available_at_ms=now_ms,
        created_at_ms=now_ms,
    )


async def enqueue_round(
    repository: Repository, kind: str, username: str, round_no: int, now_ms: int
) -> None:
    await repository.enqueue(outbox_item(kind, username, round_no, now_ms))


async def _run_step(
    deps: ProvisioningDeps, name: StepName, employee: Employee
) -> tuple[str, int | None]:
    """Run one step; returns its detail line and, for `chatwoot_user`, the user id."""
    department = deps.departments.find(employee.department)
    if name == "mailbox":
        return await provision_mailbox(deps, employee), None
    if name == "chatwoot_user":
        return await provision_chatwoot_user(deps, employee)
    if name == "team":
        return await join_team(deps, employee, department), None
    if name == "inboxes":
        return await join_inboxes(deps, employee, department), None
    return await send_invite(deps, employee), None


def _short(exc: BaseException) -> str:
    return str(exc)[:_MAX_ERROR_CHARS] or type(exc).__name__


def _count(deps: ProvisioningDeps, step: str, result: str) -> None:
    if deps.metrics is not None:
        deps.metrics.provisioning_steps.labels(step, result).inc()


async def _fail(deps: ProvisioningDeps, employee: Employee, step: str, reason: str) -> None:
    _count(deps, step, "failed")
    db, now = deps.db, deps.now_ms()
    async with db.transaction():
        await set_step(db, employee.username, step, "failed", reason, now)
        await update_employee(
            db, employee.username, now, status="failed", error=f"{step}: {reason}"
        )
        await record_audit(
            db, SYSTEM_ACTOR, f"provisioning.{step}", employee.username, "failed", reason, now
        )
    log.warning("provisioning of %s failed at %s: %s", employee.username, step, reason)


async def run_provisioning(
    deps: ProvisioningDeps, username: str, round_no: int, *, final_attempt: bool = False
) -> None:
    """Run the remaining steps of one employee (see the module docstring for the rules)."""
    db = deps.db
    try:
        for name in STEP_NAMES:
            employee = await get_employee(db, username)  # fresh: status, cw_user_id
            if employee is None or employee.status == "disabled":
                return
            steps = await get_steps(db, username)
            status = steps[name].status if name in steps else "pending"
            if status == "done":
                continue
            if status == "failed":
                return  # stopped until an operator asks for a retry
            try:
                detail, cw_user_id = await _run_step(deps, name, employee)
            except RetryableDeliveryError as exc:
                if final_attempt:
                    await _fail(deps, employee, name, f"gave up retrying: {_short(exc)}")
                    return
                await set_step(
                    db, username, name, "pending", f"will retry: {_short(exc)}", deps.now_ms()
                )
                _count(deps, name, "retry")
                raise
            except PermanentDeliveryError as exc:
                await _fail(deps, employee, name, _short(exc))
                return
            now = deps.now_ms()
            async with db.transaction():
                if cw_user_id is not None:
                    await update_employee(db, username, now, cw_user_id=cw_user_id)
                await set_step(db, username, name, "done", detail, now)
                await record_audit(
                    db, SYSTEM_ACTOR, f"provisioning.{name}", username, "done", detail, now
                )
            _count(deps, name, "done")
        async with db.transaction():
            employee = await get_employee(db, username)
            if employee is not None and employee.status == "pending":
                await update_employee(db, username, deps.now_ms(), status="active", error=None)
    finally:
        await mark_round_ran(db, username, round_no, deps.now_ms())


_Deprovisioner = Callable[[ProvisioningDeps, Employee], Awaitable[str]]
_DEPROVISIONERS: dict[str, _Deprovisioner] = {
    "disable_mailbox": deactivate_mailbox,
    "disable_chatwoot": remove_chatwoot_access,
}


async def run_deprovision(
    deps: ProvisioningDeps, username: str, round_no: int, *, final_attempt: bool = False
) -> None:
    """Deactivate the mailbox and remove Chatwoot access; each part recorded, both attempted."""
    db = deps.db
    try:
        employee = await get_employee(db, username)
        if employee is None or employee.status != "disabled":
            return
        problems: list[str] = []
        retry: RetryableDeliveryError | None = None
        for name, action in _DEPROVISIONERS.items():
            status: StepStatus = "done"
            try:
                detail = await action(deps, employee)
            except RetryableDeliveryError as exc:
                if not final_attempt:
                    retry = retry or exc
                    await set_step(
                        db, username, name, "pending", f"will retry: {_short(exc)}", deps.now_ms()
                    )
                    continue
                detail, status = f"gave up retrying: {_short(exc)}", "failed"
            except PermanentDeliveryError as exc:
                detail, status = _short(exc), "failed"
            if status == "failed":
                problems.append(f"{name}: {detail}")
            now = deps.now_ms()
            async with db.transaction():
                await set_step(db, username, name, status, detail, now)
                await record_audit(
                    db, SYSTEM_ACTOR, f"deprovisioning.{name}", username, status, detail, now
                )
        if retry is not None:
            raise retry
        error = "deprovisioning incomplete: " + "; ".join(problems) if problems else None
        await update_employee(db, username, deps.now_ms(), error=error)
    finally:
        await mark_round_ran(db, username, round_no, deps.now_ms())


def make_outbox_handler(app: web.Application, policy: BackoffPolicy | None = None) -> OutboxHandler:
    """The delivery handler of both kinds; clients are read from the app at call time."""
    max_attempts = (policy or BackoffPolicy()).max_attempts

    async def handle(item: OutboxItem) -> Delivered:
        deps = deps_from_app(app)
        username, round_no = str(item.payload["username"]), int(item.payload["round"])
        # On the outbox's last attempt a retryable error becomes a recorded failure, so the
        # employee shows `failed` instead of staying `pending` behind a dead letter.
        final = item.attempts >= max_attempts
        if item.kind == DEPROVISION_KIND:
            await run_deprovision(deps, username, round_no, final_attempt=final)
        else:
            await run_provisioning(deps, username, round_no, final_attempt=final)
        return Delivered({"username": username, "round": round_no})

    return handle
