"""Real staff members for the role matrix: provisioned, onboarded and signed in over HTTP.

Everything goes through the bridge's own surface (POST /api/employees → invitation mail →
POST /onboarding/{token} → POST /auth/login) against the simulators of `sim_env`, so the
staff member under test is exactly what production creates. `snapshot` captures every row a
refused request could change plus the simulators' counters, for "nothing changed" checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse

from provisioning.identity.config import IDENTITY
from provisioning.passwords import cheap_hasher
from tests.provisioning.employees.conftest import SimEnv

INVITE_LINK = re.compile(r"http://bridge\.test(/onboarding/[A-Za-z0-9_-]+)")
HASHER = cheap_hasher()
# Every column of the rows a refused request must leave alone (outbox and events only grow).
_TABLES: dict[str, str] = {
    "employees": "username, email, first_name, last_name, personal_email, department, role, "
    "phone, status, cw_user_id, error, idempotency_key, request_fingerprint, saga_marker, "
    "queued_round, ran_round, created_at_ms, updated_at_ms",
    "employee_steps": "username, step, status, detail, updated_at_ms",
    "invites": "token_hash, username, expires_at_ms, used_at_ms, revoked_at_ms, created_at_ms",
    "staff_sessions": "session_hash, username, created_at_ms, expires_at_ms, revoked_at_ms",
    "staff_credentials": "username, password_hash, must_change, updated_at_ms",
    "audit_log": "id, actor, action, target, outcome, detail, at_ms",
    "sso_jti": "jti, expires_at_ms",
}
_GROWING = ("outbox", "inbound_event")


@dataclass(frozen=True, slots=True)
class StaffBrowser:
    """One signed-in browser: the session cookie (sent explicitly) and its CSRF token.

    The test client speaks plain http and withholds the `__Host-` Secure cookie, so each
    request carries the cookie header itself; this also keeps several browsers apart.
    """

    env: SimEnv
    username: str
    cookie: str
    csrf: str

    def headers(self, **extra: str) -> dict[str, str]:
        name = self.env.app[IDENTITY].cookie.name
        return {"Cookie": f"{name}={self.cookie}", **extra}

    async def get(self, path: str, **extra: str) -> ClientResponse:
        return await self.env.client.get(path, headers=self.headers(**extra), allow_redirects=False)

    async def post(self, path: str, *, data: dict[str, str] | None = None) -> ClientResponse:
        return await self.env.client.post(
            path, data=data or {}, headers=self.headers(), allow_redirects=False
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    rows: dict[str, list[str]]
    max_ids: dict[str, int]
    upstream: dict[str, Any]


async def provision(env: SimEnv, first: str, last: str, *, role: str = "agent") -> tuple[str, str]:
    """Create an employee through the admin API; returns (username, onboarding path)."""
    env.app[IDENTITY].hasher = HASHER  # argon2 at test cost: the flow, not the hash, is tested
    personal = f"{first}.{last}@personal.example".lower()
    body = {
        "first_name": first,
        "last_name": last,
        "personal_email": personal,
        "department": "DTV",
        "role": role,
    }
    response = await env.post_employee(body)
    assert response.status == 201, await response.text()
    username: str = (await response.json())["username"]
    assert env.stack.smtp is not None
    mails = env.stack.smtp.sink.to(personal)
    assert len(mails) == 1
    link = INVITE_LINK.search(mails[0].body)
    assert link is not None
    return username, link.group(1)


def password_form(password: str) -> dict[str, str]:
    return {"password": password, "password_confirm": password}


async def onboard(env: SimEnv, invite_path: str, password: str) -> None:
    response = await env.client.post(invite_path, data=password_form(password))
    assert response.status == 200, await response.text()


async def sign_in(env: SimEnv, username: str, password: str) -> StaffBrowser:
    response = await env.client.post("/auth/login", json={"login": username, "password": password})
    assert response.status == 200, await response.text()
    cookie = response.cookies[env.app[IDENTITY].cookie.name].value
    env.client.session.cookie_jar.clear()  # only explicit cookie headers from here on
    body = await response.json()
    assert body["username"] == username
    return StaffBrowser(env, username, cookie, body["csrf_token"])


async def staff_member(
    env: SimEnv, first: str, last: str, password: str, *, role: str = "agent"
) -> StaffBrowser:
    """Provisioned, onboarded through the mailed link and signed in."""
    username, invite_path = await provision(env, first, last, role=role)
    await onboard(env, invite_path, password)
    return await sign_in(env, username, password)


async def snapshot(env: SimEnv) -> Snapshot:
    db = env.db
    rows: dict[str, list[str]] = {}
    for table, columns in _TABLES.items():
        names = [c.strip() for c in columns.split(",")]
        records = await db.fetch(f"SELECT {columns} FROM {table}")  # fixed names, no input
        rows[table] = sorted(repr(tuple(r[c] for c in names)) for r in records)
    max_ids: dict[str, int] = {}
    for table in _GROWING:
        max_ids[table] = int(await db.fetchval(f"SELECT COALESCE(MAX(id), 0) FROM {table}"))
    cw, mailcow = env.stack.chatwoot, env.stack.mailcow
    assert env.stack.smtp is not None
    upstream = {
        "mailcow_calls": len(mailcow.calls),
        "chatwoot_users": sorted(cw.users),
        "chatwoot_account_users": sorted(cw.account_users),
        "chatwoot_sso_tokens": sorted(cw.sso_tokens),
        "chatwoot_sessions": len(cw.sessions),
        "mails": len(env.stack.smtp.sink.messages),
    }
    return Snapshot(rows, max_ids, upstream)
