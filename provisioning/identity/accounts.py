"""Staff accounts as login sees them: the employee row joined with its password credential."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.state.database import Database

ROLE_ADMINISTRATOR = "administrator"
STATUS_DISABLED = "disabled"

_SELECT = """SELECT e.username, e.email, e.first_name, e.last_name, e.role, e.status,
       e.cw_user_id, c.password_hash, c.must_change
  FROM employees e LEFT JOIN staff_credentials c ON c.username = e.username"""


@dataclass(frozen=True, slots=True)
class StaffAccount:
    username: str
    email: str
    first_name: str
    last_name: str
    role: str
    status: str
    cw_user_id: int | None
    password_hash: str | None
    must_change: bool

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMINISTRATOR

    @property
    def is_disabled(self) -> bool:
        return self.status == STATUS_DISABLED

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username

    def __repr__(self) -> str:
        # The hash is not a secret in the strict sense, but it has no business in logs.
        return f"StaffAccount(username={self.username!r}, role={self.role!r})"


def _from_row(row: Any) -> StaffAccount:
    cw_user_id = row["cw_user_id"]
    return StaffAccount(
        username=row["username"],
        email=row["email"],
        first_name=row["first_name"] or "",
        last_name=row["last_name"] or "",
        role=row["role"],
        status=row["status"],
        cw_user_id=int(cw_user_id) if cw_user_id is not None else None,
        password_hash=row["password_hash"],
        must_change=bool(row["must_change"]),
    )


async def find_account(db: Database, login: str) -> StaffAccount | None:
    """By username or work email, case-insensitively."""
    key = login.strip().lower()
    row = await db.fetchrow(
        f"{_SELECT} WHERE LOWER(e.username) = $1 OR LOWER(e.email) = $1 "
        "ORDER BY e.username LIMIT 1",
        key,
    )
    return _from_row(row) if row is not None else None


async def get_account(db: Database, username: str) -> StaffAccount | None:
    row = await db.fetchrow(f"{_SELECT} WHERE e.username = $1", username)
    return _from_row(row) if row is not None else None


async def save_password_hash(
    db: Database, username: str, password_hash: str, *, must_change: bool, now_ms: int
) -> None:
    """Insert or replace the staff member's password (argon2id PHC string)."""
    await db.execute(
        """INSERT INTO staff_credentials (username, password_hash, must_change, updated_at_ms)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (username) DO UPDATE
             SET password_hash = $2, must_change = $3, updated_at_ms = $4""",
        username,
        password_hash,
        must_change,
        now_ms,
    )


async def remember_cw_user_id(db: Database, username: str, cw_user_id: int) -> None:
    """Record a Chatwoot user id found by email, unless provisioning recorded one meanwhile."""
    await db.execute(
        "UPDATE employees SET cw_user_id = $1 WHERE username = $2 AND cw_user_id IS NULL",
        cw_user_id,
        username,
    )
