"""The staff portal at `/hub/`: sign-in page, home with the Inbox, embedded inbox, password."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bridge.keys import CLOCK, REPOSITORY, SETTINGS
from provisioning.identity.accounts import save_password_hash
from provisioning.identity.auth import PASSWORD_PATH, login_page
from provisioning.identity.config import IDENTITY
from provisioning.identity.forms import read_fields, text_field, validate
from provisioning.identity.guards import csrf_ok, csrf_refused, refuse
from provisioning.identity.rendering import chatwoot_sources, render_page
from provisioning.identity.request_info import (
    HOME_PATH,
    client_ip,
    login_redirect,
    redirect,
    safe_next,
)
from provisioning.identity.web_session import (
    SignedIn,
    current_staff,
    issue_session,
    set_session_cookie,
)
from provisioning.passwords import hash_password, verify_password
from provisioning.schemas import SetPasswordIn
from provisioning.store import revoke_staff_sessions

SSO_PATH = "/sso/chatwoot"


async def staff_page_guard(request: web.Request) -> SignedIn | web.Response:
    """The signed-in staff member, or the response to send instead (login, password, 403)."""
    signed_in = await current_staff(request)
    if signed_in is None:
        return login_redirect(request)
    if signed_in.account.is_disabled:
        return refuse(True, 403, "staff_disabled", "This staff account is disabled.")
    if signed_in.account.must_change and request.path != PASSWORD_PATH:
        return redirect(PASSWORD_PATH, 302)
    return signed_in


async def login_form(request: web.Request) -> web.Response:
    next_path = safe_next(request.query.get("next"))
    signed_in = await current_staff(request)
    if signed_in is not None and not signed_in.account.is_disabled:
        return redirect(next_path, 302)
    return login_page(request, next_path=next_path)


async def home(request: web.Request) -> web.Response:
    guard = await staff_page_guard(request)
    if isinstance(guard, web.Response):
        return guard
    return render_page(
        "home.html",
        title="Staff portal",
        account=guard.account,
        csrf_token=guard.session.csrf_token,
        sso_path=SSO_PATH,
        changed=request.query.get("changed") == "1",
    )


async def inbox(request: web.Request) -> web.Response:
    guard = await staff_page_guard(request)
    if isinstance(guard, web.Response):
        return guard
    return render_page(
        "inbox.html",
        title="Inbox",
        frame_src=chatwoot_sources(request.app[SETTINGS]),
        account=guard.account,
        csrf_token=guard.session.csrf_token,
        sso_path=SSO_PATH,
    )


def _password_form(
    signed_in: SignedIn, *, status: int = 200, errors: list[str] | None = None
) -> web.Response:
    return render_page(
        "password.html",
        status=status,
        title="Change your password",
        account=signed_in.account,
        forced=signed_in.account.must_change,
        csrf_token=signed_in.session.csrf_token,
        errors=errors or [],
    )


async def password_form(request: web.Request) -> web.Response:
    guard = await staff_page_guard(request)
    if isinstance(guard, web.Response):
        return guard
    return _password_form(guard)


async def password_submit(request: web.Request) -> web.Response:
    guard = await staff_page_guard(request)
    if isinstance(guard, web.Response):
        return guard
    fields = await read_fields(request)
    if not csrf_ok(request, guard, fields):
        return csrf_refused(True)
    account = guard.account
    app = request.app
    config, db, clock = app[IDENTITY], app[REPOSITORY].database, app[CLOCK]
    decision = config.limiter.check(client_ip(request), account.username)
    if not decision.allowed:
        return refuse(
            True,
            429,
            "too_many_attempts",
            "Too many attempts. Wait a moment and try again.",
            retry_after_s=decision.retry_after_s,
        )
    parsed = validate(SetPasswordIn, fields)
    if not isinstance(parsed, SetPasswordIn):
        return _password_form(guard, status=422, errors=parsed)
    new_password = parsed.password.get_secret_value()
    errors = config.policy.check(new_password, account.username, account.email)
    if not account.must_change:
        # A forced change follows a sign-in with the temporary password moments ago; a
        # voluntary one re-proves the current password (a forgotten open session is not enough).
        current = text_field(fields, "current_password")
        if not await asyncio.to_thread(
            verify_password, current, account.password_hash, config.hasher
        ):
            config.limiter.record_failure(account.username)
            errors.insert(0, "current password: is not correct")
    if not errors and await asyncio.to_thread(
        verify_password, new_password, account.password_hash, config.hasher
    ):
        errors.append("must differ from your current password")
    if errors:
        return _password_form(guard, status=422, errors=errors)
    password_hash = await asyncio.to_thread(hash_password, new_password, config.hasher)
    async with db.transaction(lock=f"staff:{account.username}"):
        now_ms = clock.now_ms()
        await save_password_hash(
            db, account.username, password_hash, must_change=False, now_ms=now_ms
        )
        # Every other browser signed in with the old password is signed out.
        await revoke_staff_sessions(db, account.username, now_ms)
        session = await issue_session(request, account.username)
    response = redirect(f"{HOME_PATH}?changed=1")
    set_session_cookie(request, response, session)
    return response


async def hub_root(request: web.Request) -> web.Response:
    return redirect(HOME_PATH, 301)


def add_portal_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/hub", hub_root)
    r.add_get("/hub/", home)
    r.add_get("/hub/login", login_form)
    r.add_get("/hub/inbox", inbox)
    r.add_get(PASSWORD_PATH, password_form)
    r.add_post(PASSWORD_PATH, password_submit)
