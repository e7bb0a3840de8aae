"""`GET`/`POST /onboarding/{token}`: the one-time set-password link of a new staff member."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bridge.keys import CLOCK, REPOSITORY
from bridge.web.errors import ApiError, json_error
from provisioning.identity.accounts import save_password_hash
from provisioning.identity.config import IDENTITY
from provisioning.identity.forms import read_fields, validate
from provisioning.identity.invites import consume_invite, find_open_invite
from provisioning.identity.rendering import NO_STORE_HEADERS, render_page
from provisioning.identity.request_info import LOGIN_PATH, is_form, origin_allowed
from provisioning.passwords import hash_password
from provisioning.schemas import SetPasswordIn
from provisioning.store import revoke_staff_sessions

log = logging.getLogger(__name__)


def _gone(json_client: bool) -> web.Response:
    """One answer for used, expired and unknown links: no oracle for token guessing."""
    if json_client:
        response = json_error(
            410, "link_invalid", "this link is no longer valid; ask an administrator for a new one"
        )
        response.headers.update(NO_STORE_HEADERS)
        return response
    return render_page("link_invalid.html", status=410, title="Link no longer valid")


def _form(
    token: str, username: str, *, status: int = 200, errors: list[str] | None = None
) -> web.Response:
    return render_page(
        "onboarding.html",
        status=status,
        title="Set your password",
        token=token,
        username=username,
        errors=errors or [],
    )


async def onboarding_form(request: web.Request) -> web.Response:
    """Shows the form; only *checks* the token, so link scanners cannot burn it."""
    token = request.match_info["token"]
    db = request.app[REPOSITORY].database
    invite = await find_open_invite(db, token, now_ms=request.app[CLOCK].now_ms())
    if invite is None:
        return _gone(json_client=False)
    return _form(token, invite.username)


async def onboarding_submit(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    json_client = not is_form(request)
    if not origin_allowed(request):
        raise ApiError(403, "origin_refused", "cross-site form submissions are not accepted")
    app = request.app
    db, clock, config = app[REPOSITORY].database, app[CLOCK], app[IDENTITY]
    fields = await read_fields(request)
    invite = await find_open_invite(db, token, now_ms=clock.now_ms())
    if invite is None:
        return _gone(json_client)
    parsed = validate(SetPasswordIn, fields)
    if isinstance(parsed, SetPasswordIn):
        password = parsed.password.get_secret_value()
        reasons = config.policy.check(password, invite.username, invite.email)
    else:
        reasons = parsed
    if reasons:
        # A refused password leaves the token unused: the person simply tries again.
        if json_client:
            raise ApiError(
                422,
                "password_refused",
                "the password was refused: " + "; ".join(reasons),
                reasons=reasons,
                headers=NO_STORE_HEADERS,
            )
        return _form(token, invite.username, status=422, errors=reasons)
    password_hash = await asyncio.to_thread(hash_password, password, config.hasher)
    async with db.transaction(lock=f"staff:{invite.username}"):
        now_ms = clock.now_ms()
        # Atomic: of two concurrent submissions only one finds the token unused.
        if not await consume_invite(db, invite.token_hash, now_ms=now_ms):
            return _gone(json_client)
        await save_password_hash(
            db, invite.username, password_hash, must_change=False, now_ms=now_ms
        )
        await revoke_staff_sessions(db, invite.username, now_ms)
    log.info("staff password set through invite username=%s", invite.username)
    if json_client:
        response = web.json_response({"ok": True, "username": invite.username})
        response.headers.update(NO_STORE_HEADERS)
        return response
    return render_page(
        "onboarding_done.html", title="Password set", username=invite.username, login=LOGIN_PATH
    )


def add_onboarding_routes(app: web.Application) -> None:
    app.router.add_get("/onboarding/{token}", onboarding_form)
    app.router.add_post("/onboarding/{token}", onboarding_submit)
