"""The staff session of a request: reading, issuing and clearing the cookie."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bridge.keys import CLOCK, REPOSITORY
from provisioning.identity.accounts import StaffAccount, get_account
from provisioning.identity.config import IDENTITY
from provisioning.identity.sessions import StaffSession, create_session, find_session


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: StaffSession
    account: StaffAccount


@dataclass(frozen=True, slots=True)
class _Resolved:
    """Per-request memo of the session look-up (None = nobody signed in)."""

    signed_in: SignedIn | None


_CURRENT = web.RequestKey("provisioning.identity.current", _Resolved)


async def current_staff(request: web.Request) -> SignedIn | None:
    """The signed-in staff member, or None (no cookie, unknown, expired or revoked session).

    A disabled employee's session still resolves, so callers can answer 403 rather than
    pretending nobody is signed in; deprovisioning normally revokes the sessions anyway.
    """
    if _CURRENT in request:
        return request[_CURRENT].signed_in
    db = request.app[REPOSITORY].database
    cookie = request.cookies.get(request.app[IDENTITY].cookie.name)
    signed_in: SignedIn | None = None
    session = await find_session(db, cookie, now_ms=request.app[CLOCK].now_ms())
    if session is not None:
        account = await get_account(db, session.username)
        if account is not None:
            signed_in = SignedIn(session, account)
    request[_CURRENT] = _Resolved(signed_in)
    return signed_in


async def issue_session(request: web.Request, username: str) -> StaffSession:
    config = request.app[IDENTITY]
    return await create_session(
        request.app[REPOSITORY].database,
        username,
        now_ms=request.app[CLOCK].now_ms(),
        ttl_ms=config.session_ttl_ms,
    )


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, session: StaffSession
) -> None:
    config = request.app[IDENTITY]
    response.set_cookie(
        config.cookie.name,
        session.plain,
        max_age=config.session_ttl_ms // 1000,
        path="/",
        secure=config.cookie.secure,
        httponly=True,
        samesite="Lax",
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    cookie = request.app[IDENTITY].cookie
    response.del_cookie(cookie.name, path="/", secure=cookie.secure, httponly=True, samesite="Lax")
