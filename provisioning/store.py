"""Storage of employees, their provisioning steps, invites and staff sessions (both dialects)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from bridge.state.database import Database, Row
from provisioning.schemas import STEP_NAMES, EmployeeOut, StepName, StepStatus
from provisioning.tokens import INVITE_TTL_MS, IssuedToken, new_token

_COLUMNS: Final = (
    "username, email, first_name, last_name, personal_email, department, role, phone, status, "
    "cw_user_id, error, idempotency_key, request_fingerprint, saga_marker, queued_round, "
    "ran_round, created_at_ms, updated_at_ms"
)


@dataclass(slots=True)
class Employee:
    username: str
    email: str  # work email = Mailcow mailbox = Chatwoot user email
    first_name: str
    last_name: str
    personal_email: str
    department: str
    role: str
    status: str
    saga_marker: str  # Mailcow tag proving a mailbox was created by this employee's saga
    created_at_ms: int
    updated_at_ms: int
    phone: str | None = None
    cw_user_id: int | None = None
    error: str | None = None
    idempotency_key: str | None = None
    request_fingerprint: str | None = None
    queued_round: int = 1
    ran_round: int = 0


@dataclass(slots=True)
class StepRecord:
    step: str
    status: StepStatus
    detail: str | None
    updated_at_ms: int


def _employee(row: Row) -> Employee:
    cw_user_id = row["cw_user_id"]
    return Employee(
        username=row["username"],
        email=row["email"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        personal_email=row["personal_email"],
        department=row["department"],
        role=row["role"],
        phone=row["phone"],
        status=row["status"],
        cw_user_id=None if cw_user_id is None else int(cw_user_id),
        error=row["error"],
        idempotency_key=row["idempotency_key"],
        request_fingerprint=row["request_fingerprint"],
        saga_marker=row["saga_marker"],
        queued_round=int(row["queued_round"]),
        ran_round=int(row["ran_round"]),
        created_at_ms=int(row["created_at_ms"]),
        updated_at_ms=int(row["updated_at_ms"]),
    )


async def insert_employee(db: Database, employee: Employee) -> bool:
    """Reserve the username (and email, idempotency key): False when any of them is taken.

    The UNIQUE constraints make check-and-reserve one atomic statement, so two concurrent
    requests can never end up with the same username.
    """
    row = await db.fetchrow(
        f"""INSERT INTO employees ({_COLUMNS}) VALUES
            ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
            ON CONFLICT DO NOTHING RETURNING username""",  # noqa: S608
        employee.username,
        employee.email,
        employee.first_name,
        employee.last_name,
        employee.personal_email,
        employee.department,
        employee.role,
        employee.phone,
        employee.status,
        employee.cw_user_id,
        employee.error,
        employee.idempotency_key,
        employee.request_fingerprint,
        employee.saga_marker,
        employee.queued_round,
        employee.ran_round,
        employee.created_at_ms,
        employee.updated_at_ms,
    )
    if row is None:
        return False
    for step in STEP_NAMES:
        await set_step(db, employee.username, step, "pending", None, employee.created_at_ms)
    return True


async def get_employee(db: Database, username: str) -> Employee | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM employees WHERE username = $1",  # noqa: S608
        username,
    )
    return _employee(row) if row is not None else None


async def get_employee_by_email(db: Database, email: str) -> Employee | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM employees WHERE email = $1",  # noqa: S608
        email.lower(),
    )
    return _employee(row) if row is not None else None


async def get_employee_by_idempotency_key(db: Database, key: str) -> Employee | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM employees WHERE idempotency_key = $1",  # noqa: S608
        key,
    )
    return _employee(row) if row is not None else None


async def username_exists(db: Database, username: str) -> bool:
    found = await db.fetchval("SELECT 1 FROM employees WHERE username = $1", username)
    return found is not None


async def list_employees(db: Database, limit: int = 1000) -> list[Employee]:
    rows = await db.fetch(
        f"SELECT {_COLUMNS} FROM employees ORDER BY created_at_ms, username LIMIT $1",  # noqa: S608
        limit,
    )
    return [_employee(row) for row in rows]


async def update_employee(db: Database, username: str, now_ms: int, **changes: Any) -> None:
    """Set the given columns (names are ours, never user input) and `updated_at_ms`."""
    allowed = {"status", "cw_user_id", "error", "queued_round", "ran_round"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    names = sorted(changes)
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(names, start=3))
    await db.execute(
        f"UPDATE employees SET updated_at_ms = $2, {assignments} WHERE username = $1",  # noqa: S608
        username,
        now_ms,
        *(changes[name] for name in names),
    )


async def mark_round_ran(db: Database, username: str, round_no: int, now_ms: int) -> None:
    """Record that a saga run of `round_no` ended (waiting requests stop polling)."""
    await db.execute(
        "UPDATE employees SET ran_round = $2, updated_at_ms = $3 "
        "WHERE username = $1 AND ran_round < $2",
        username,
        round_no,
        now_ms,
    )


async def next_round(db: Database, username: str, now_ms: int) -> int:
    """Bump and return the round number (each round gets its own outbox dedupe key)."""
    await db.execute(
        "UPDATE employees SET queued_round = queued_round + 1, updated_at_ms = $2 "
        "WHERE username = $1",
        username,
        now_ms,
    )
    value = await db.fetchval("SELECT queued_round FROM employees WHERE username = $1", username)
    return int(value)


# --- steps --------------------------------------------------------------------------------


async def set_step(
    db: Database, username: str, step: str, status: StepStatus, detail: str | None, now_ms: int
) -> None:
    await db.execute(
        """INSERT INTO employee_steps (username, step, status, detail, updated_at_ms)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (username, step) DO UPDATE SET status = $3, detail = $4,
             updated_at_ms = $5""",
        username,
        step,
        status,
        detail,
        now_ms,
    )


async def get_steps(db: Database, username: str) -> dict[str, StepRecord]:
    rows = await db.fetch(
        "SELECT step, status, detail, updated_at_ms FROM employee_steps WHERE username = $1",
        username,
    )
    return {
        row["step"]: StepRecord(
            step=row["step"],
            status=row["status"],
            detail=row["detail"],
            updated_at_ms=int(row["updated_at_ms"]),
        )
        for row in rows
    }


def employee_out(employee: Employee, steps: dict[str, StepRecord]) -> EmployeeOut:
    """The API view (DESIGN §6): only the five provisioning steps, never secrets."""
    step_status: dict[StepName, StepStatus] = {
        name: steps[name].status if name in steps else "pending" for name in STEP_NAMES
    }
    return EmployeeOut.model_validate(
        {
            "username": employee.username,
            "email": employee.email,
            "first_name": employee.first_name,
            "last_name": employee.last_name,
            "department": employee.department,
            "role": employee.role,
            "status": employee.status,
            "steps": step_status,
            "error": employee.error,
        }
    )


# --- invites and staff sessions (shared with the staff identity layer) ---------------------


async def issue_invite(
    db: Database, username: str, now_ms: int, ttl_ms: int = INVITE_TTL_MS
) -> tuple[IssuedToken, int]:
    """A new one-time set-password token (hash stored, plain returned once) and its expiry.

    Earlier unused invites of the user are revoked: only the newest link works.
    """
    token = new_token()
    expires_at_ms = now_ms + ttl_ms
    async with db.transaction():
        await revoke_invites(db, username, now_ms)
        await db.execute(
            "INSERT INTO invites (token_hash, username, expires_at_ms, created_at_ms) "
            "VALUES ($1, $2, $3, $4)",
            token.token_hash,
            username,
            expires_at_ms,
            now_ms,
        )
    return token, expires_at_ms


async def revoke_invites(db: Database, username: str, now_ms: int) -> int:
    """Revoke the user's unused invites; also moves their expiry to now, so a reader that only
    checks `used_at_ms` and `expires_at_ms` refuses them too."""
    return await db.execute(
        "UPDATE invites SET revoked_at_ms = $2, "
        "expires_at_ms = CASE WHEN expires_at_ms < $2 THEN expires_at_ms ELSE $2 END "
        "WHERE username = $1 AND used_at_ms IS NULL AND revoked_at_ms IS NULL",
        username,
        now_ms,
    )


async def revoke_staff_sessions(db: Database, username: str, now_ms: int) -> int:
    """End every live staff session of the user; returns how many were revoked."""
    return await db.execute(
        "UPDATE staff_sessions SET revoked_at_ms = $2 "
        "WHERE username = $1 AND revoked_at_ms IS NULL",
        username,
        now_ms,
    )
