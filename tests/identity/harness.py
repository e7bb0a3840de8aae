"""Builders for identity tests: staff rows, passwords, invites and the app with a Chatwoot sim."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import jwt
from aiohttp import web

from bridge.sim.chatwoot_http import STATE_KEY
from bridge.sim.chatwoot_store import ChatwootState
from bridge.state.database import Database
from provisioning.identity.accounts import save_password_hash
from provisioning.passwords import cheap_hasher, hash_password
from provisioning.store import Employee, insert_employee, issue_invite

CW_API_TOKEN = "cw-api-token-identity-tests"
CW_PLATFORM_TOKEN = "cw-platform-token-identity-tests"
HUB_SECRET = "hub-sso-secret-0123456789abcdef-identity-tests"
MAIL_DOMAIN = "mmallelectronics.co.za"
GOOD_PASSWORD = "Quiet-Harbour-Lantern-42"
OTHER_GOOD_PASSWORD = "Amber-Falcon-Orchard-77"
HASHER = cheap_hasher()


async def add_employee(
    db: Database,
    username: str,
    *,
    now_ms: int,
    role: str = "agent",
    status: str = "active",
    cw_user_id: int | None = None,
    email: str | None = None,
) -> Employee:
    first, _, last = username.partition(".")
    employee = Employee(
        username=username,
        email=email or f"{username}@{MAIL_DOMAIN}",
        first_name=first.capitalize(),
        last_name=(last or "staff").capitalize(),
        personal_email=f"{username}@personal.example",
        department="DTV",
        role=role,
        status=status,
        saga_marker=f"test-{username}",
        created_at_ms=now_ms,
        updated_at_ms=now_ms,
        cw_user_id=cw_user_id,
    )
    assert await insert_employee(db, employee)
    return employee


async def set_password(
    db: Database, username: str, password: str, *, now_ms: int, must_change: bool = False
) -> None:
    await save_password_hash(
        db, username, hash_password(password, HASHER), must_change=must_change, now_ms=now_ms
    )


async def invite(db: Database, username: str, *, now_ms: int) -> str:
    token, _ = await issue_invite(db, username, now_ms)
    return token.plain


def chatwoot_user(state: ChatwootState, email: str, role: str = "agent") -> int:
    """A confirmed Chatwoot user with access to the account, as provisioning leaves it."""
    user = state.add_user(name=email, email=email, role=role, password="Pw-0123456789!")
    state.set_account_user(int(user["id"]), role)
    return int(user["id"])


def chatwoot_state(app: web.Application) -> ChatwootState:
    return app[STATE_KEY]


def hub_token(
    sub: str,
    *,
    now_s: int,
    lifetime_s: int = 120,
    jti: str = "jti-1",
    secret: str = HUB_SECRET,
    **claims: Any,
) -> str:
    payload = {"sub": sub, "iat": now_s, "exp": now_s + lifetime_s, "jti": jti, **claims}
    with warnings.catch_warnings():
        # Some tests sign with deliberately short or empty keys.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm="HS256")


def unsigned_token(sub: str, *, now_s: int, jti: str = "jti-none") -> str:
    """An `alg: none` token (what an attacker sends hoping the signature is not checked)."""
    payload = {"sub": sub, "iat": now_s, "exp": now_s + 60, "jti": jti}
    return jwt.encode(payload, key=None, algorithm="none")


def wall_clock_s() -> int:
    return int(time.time())


@dataclass
class SimChatwoot:
    url: str
    app: web.Application

    @property
    def state(self) -> ChatwootState:
        return chatwoot_state(self.app)
