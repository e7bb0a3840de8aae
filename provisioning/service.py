"""Employee lifecycle operations behind the admin API (and the staff portal): create, retry,
disable, read. Each takes the acting admin's name for the audit log."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web

from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from bridge.keys import OUTBOX
from bridge.web.errors import ApiError
from provisioning.audit import ADMIN_TOKEN_ACTOR, record_audit
from provisioning.context import ProvisioningDeps, deps_from_app
from provisioning.saga import DEPROVISION_KIND, PROVISION_KIND, enqueue_round
from provisioning.schemas import EmployeeIn, EmployeeOut
from provisioning.store import (
    Employee,
    employee_out,
    get_employee,
    get_employee_by_idempotency_key,
    get_steps,
    insert_employee,
    list_employees,
    next_round,
    revoke_invites,
    revoke_staff_sessions,
    set_step,
    update_employee,
    username_exists,
)
from provisioning.usernames import EmptyNamePartError, UsernameExhaustedError, choose_username
from provisioning.usernames import render_username as render

DEFAULT_WAIT_S = 5.0
_POLL_S = 0.05


class _Replayed(Exception):
    def __init__(self, employee: Employee) -> None:
        self.employee = employee


@dataclass(frozen=True, slots=True)
class Outcome:
    employee: EmployeeOut
    created: bool  # False for an Idempotency-Key replay or a no-op

    @property
    def complete(self) -> bool:
        return all(status == "done" for status in self.employee.steps.values())


def fingerprint(body: EmployeeIn) -> str:
    return hashlib.sha256(body.model_dump_json().encode("utf-8")).hexdigest()


def _field_error(field: str, message: str, code: str = "invalid_payload") -> ApiError:
    return ApiError(
        422, code, f"{field}: {message}", path=field, details=[{"field": field, "message": message}]
    )


class ProvisioningService:
    def __init__(self, app: web.Application, *, wait_s: float = DEFAULT_WAIT_S) -> None:
        self._app = app
        self._wait_s = wait_s

    @property
    def deps(self) -> ProvisioningDeps:
        return deps_from_app(self._app)

    # --- reads ------------------------------------------------------------------------------

    async def get(self, username: str) -> EmployeeOut | None:
        db = self.deps.db
        employee = await get_employee(db, username)
        if employee is None:
            return None
        return employee_out(employee, await get_steps(db, username))

    async def list(self) -> list[EmployeeOut]:
        db = self.deps.db
        return [employee_out(e, await get_steps(db, e.username)) for e in await list_employees(db)]

    # --- create -----------------------------------------------------------------------------

    async def create(
        self, body: EmployeeIn, *, idempotency_key: str | None, actor: str = ADMIN_TOKEN_ACTOR
    ) -> Outcome:
        deps = self.deps
        department = deps.departments.find(body.department)
        if department is None:
            valid = deps.departments.keys
            raise ApiError(
                422,
                "unknown_department",
                f"department: unknown department {body.department!r}; valid: {', '.join(valid)}",
                path="department",
                valid=valid,
                details=[{"field": "department", "message": f"must be one of {valid}"}],
            )
        missing = deps.settings.provisioning_missing()
        if missing:
            raise ApiError(
                503,
                "provisioning_not_configured",
                f"provisioning needs {', '.join(missing)}",
                missing=missing,
            )
        domain = deps.mail_domain
        if body.personal_email.rpartition("@")[2].lower() == domain:
            raise _field_error(
                "personal_email",
                f"must be outside {domain}: the invite cannot go to a staff mailbox",
            )
        print_ = fingerprint(body)
        if idempotency_key is not None:
            replay = await self._replay(idempotency_key, print_)
            if replay is not None:
                return replay
        try:
            base = render(
                deps.settings.provisioning_username_template,
                body.first_name,
                body.last_name,
                department.key,
            )
        except EmptyNamePartError as exc:
            raise _field_error(exc.field, str(exc)) from None
        try:
            employee = await self._reserve(
                deps, body, department.key, base, idempotency_key, print_
            )
        except _Replayed as replayed:
            return await self._replay_outcome(replayed.employee, print_)
        except ApiError as exc:
            # An upstream problem, not the caller's mistake: the attempt is worth recording.
            detail = {"department": department.key, "error": exc.message}
            await record_audit(
                deps.db, actor, "employee.create", None, exc.code, detail, deps.now_ms()
            )
            raise
        self._wake()
        employee = await self._wait(employee.username, 1)
        out = employee_out(employee, await get_steps(deps.db, employee.username))
        await record_audit(
            deps.db,
            actor,
            "employee.create",
            employee.username,
            out.status,
            {"department": department.key, "role": body.role, "steps": dict(out.steps)},
            deps.now_ms(),
        )
        return Outcome(out, created=True)

    async def _replay(self, key: str, print_: str) -> Outcome | None:
        existing = await get_employee_by_idempotency_key(self.deps.db, key)
        return None if existing is None else await self._replay_outcome(existing, print_)

    async def _replay_outcome(self, existing: Employee, print_: str) -> Outcome:
        if existing.request_fingerprint != print_:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            )
        out = employee_out(existing, await get_steps(self.deps.db, existing.username))
        return Outcome(out, created=False)

    async def _reserve(
        self,
        deps: ProvisioningDeps,
        body: EmployeeIn,
        department_key: str,
        base: str,
        idempotency_key: str | None,
        print_: str,
    ) -> Employee:
        db, repository, domain = deps.db, deps.repository, deps.mail_domain
        mailcow = deps.mailcow()
        reserved: list[Employee] = []

        async def is_taken(candidate: str) -> bool:
            if await username_exists(db, candidate):
                return True
            address = f"{candidate}@{domain}"
            return (
                await mailcow.get_mailbox(address) is not None
                or await mailcow.get_alias(address) is not None
            )

        async def reserve(candidate: str) -> bool:
            now = deps.now_ms()
            employee = Employee(
                username=candidate,
                email=f"{candidate}@{domain}",
                first_name=body.first_name,
                last_name=body.last_name,
                personal_email=body.personal_email,
                department=department_key,
                role=body.role,
                phone=body.phone,
                status="pending",
                saga_marker=f"bridge-emp-{secrets.token_hex(8)}",
                idempotency_key=idempotency_key,
                request_fingerprint=print_,
                queued_round=1,
                ran_round=0,
                created_at_ms=now,
                updated_at_ms=now,
            )
            async with repository.transaction():
                if not await insert_employee(db, employee):
                    if idempotency_key is not None:
                        existing = await get_employee_by_idempotency_key(db, idempotency_key)
                        if existing is not None:
                            raise _Replayed(existing)
                    return False
                await enqueue_round(repository, PROVISION_KIND, candidate, 1, now)
            reserved.append(employee)
            return True

        try:
            await choose_username(base, is_taken, reserve)
        except RetryableDeliveryError as exc:
            raise ApiError(
                503,
                "upstream_unavailable",
                f"cannot check the username against Mailcow right now: {exc}",
                headers={"Retry-After": "5"},
            ) from None
        except PermanentDeliveryError as exc:
            raise ApiError(
                502, "upstream_error", f"Mailcow refused the username check: {exc}"
            ) from None
        except UsernameExhaustedError as exc:
            raise ApiError(409, "username_exhausted", str(exc)) from None
        return reserved[-1]

    # --- retry and disable ------------------------------------------------------------------

    async def retry(self, username: str, *, actor: str = ADMIN_TOKEN_ACTOR) -> Outcome:
        deps = self.deps
        db = deps.db
        employee = await self._require(username)
        if employee.status == "disabled":
            raise ApiError(409, "employee_disabled", f"{username} is disabled; nothing to resume")
        steps = await get_steps(db, username)
        if employee.status == "active" and all(s.status == "done" for s in steps.values()):
            out = employee_out(employee, steps)
            await record_audit(db, actor, "employee.retry", username, "noop", None, deps.now_ms())
            return Outcome(out, created=False)
        now = deps.now_ms()
        async with deps.repository.transaction():
            for record in steps.values():
                if record.status == "failed":
                    await set_step(db, username, record.step, "pending", "retry requested", now)
            await update_employee(db, username, now, status="pending", error=None)
            round_no = await next_round(db, username, now)
            await enqueue_round(deps.repository, PROVISION_KIND, username, round_no, now)
        self._wake()
        employee = await self._wait(username, round_no)
        out = employee_out(employee, await get_steps(db, username))
        await record_audit(
            db, actor, "employee.retry", username, out.status, {"steps": dict(out.steps)}, now
        )
        return Outcome(out, created=True)

    async def disable(self, username: str, *, actor: str = ADMIN_TOKEN_ACTOR) -> Outcome:
        """Deprovision: local access ends at once (sessions, invites), upstream access through
        the outbox (mailbox `active` 0, Chatwoot account user removed). Calling it again
        re-runs the upstream part, so a half-finished deprovisioning can be completed."""
        deps = self.deps
        db = deps.db
        employee = await self._require(username)
        now = deps.now_ms()
        async with deps.repository.transaction():
            sessions = await revoke_staff_sessions(db, username, now)
            invites = await revoke_invites(db, username, now)
            await update_employee(db, username, now, status="disabled")
            round_no = await next_round(db, username, now)
            await enqueue_round(deps.repository, DEPROVISION_KIND, username, round_no, now)
        self._wake()
        employee = await self._wait(username, round_no)
        out = employee_out(employee, await get_steps(db, username))
        detail: dict[str, object] = {"sessions_revoked": sessions, "invites_revoked": invites}
        if employee.error:
            detail["error"] = employee.error
        outcome = "disabled" if employee.error is None else "incomplete"
        await record_audit(db, actor, "employee.disable", username, outcome, detail, now)
        return Outcome(out, created=False)

    # --- helpers ----------------------------------------------------------------------------

    async def _require(self, username: str) -> Employee:
        employee = await get_employee(self.deps.db, username)
        if employee is None:
            raise ApiError(404, "not_found", f"no employee {username!r}")
        return employee

    def _wake(self) -> None:
        outbox = self._app.get(OUTBOX)
        if outbox is not None:
            outbox.wake()

    async def _wait(self, username: str, round_no: int) -> Employee:
        """Poll storage (the round may run on another replica) until the round's first run
        ended or the bounded wait is over."""
        db = self.deps.db
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        while True:
            employee = await get_employee(db, username)
            if employee is None:
                raise ApiError(404, "not_found", f"no employee {username!r}")
            if employee.ran_round >= round_no or loop.time() >= deadline:
                return employee
            await asyncio.sleep(_POLL_S)
