"""`POST /auth/login` and `POST /auth/logout`: staff sign-in by username or work email."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bridge.keys import CLOCK, REPOSITORY, SETTINGS
from bridge.web.errors import ApiError
from provisioning.identity.accounts import find_account
from provisioning.identity.config import IDENTITY
from provisioning.identity.forms import read_fields, text_field, validate
from provisioning.identity.guards import csrf_ok, csrf_refused, refuse
from provisioning.identity.rendering import NO_STORE_HEADERS, chatwoot_sources, render_page
from provisioning.identity.request_info import (
    LOGIN_PATH,
    client_ip,
    is_form,
    origin_allowed,
    redirect,
    safe_next,
)
from provisioning.identity.sessions import revoke_session
from provisioning.identity.web_session import (
    clear_session_cookie,
    current_staff,
    issue_session,
    set_session_cookie,
)
from provisioning.passwords import verify_password
from provisioning.schemas import LoginIn

log = logging.getLogger(__name__)

PASSWORD_PATH = "/hub/password"  # noqa: S105 (a URL path, not a password)
# One message for unknown user, wrong password and disabled account: no account oracle.
INVALID_CREDENTIALS = "The username/email or the password is not correct."


def login_page(
    request: web.Request,
    *,
    status: int = 200,
    error: str | None = None,
    next_path: str = "/hub/",
    login: str = "",
) -> web.Response:
    return render_page(
        "login.html",
        status=status,
        # After sign-in `next` may be /sso/chatwoot, which redirects to Chatwoot: CSP
        # form-action also governs the redirects that follow a form submission.
        form_action=chatwoot_sources(request.app[SETTINGS]),
        title="Sign in",
        error=error,
        next=next_path,
        login=login,
    )


async def login(request: web.Request) -> web.StreamResponse:
    html = is_form(request)
    if not origin_allowed(request):
        raise ApiError(403, "origin_refused", "cross-site form submissions are not accepted")
    app = request.app
    config, db = app[IDENTITY], app[REPOSITORY].database
    fields = await read_fields(request)
    next_path = safe_next(text_field(fields, "next"))
    parsed = validate(LoginIn, fields)
    if not isinstance(parsed, LoginIn):
        message = "Enter your username or email address and your password."
        if html:
            return login_page(request, status=422, error=message, next_path=next_path)
        raise ApiError(422, "invalid_payload", message, reasons=parsed)
    account = await find_account(db, parsed.login_key)
    # One canonical key per account, whether the person typed the username or the email.
    account_key = account.username if account is not None else parsed.login_key
    decision = config.limiter.check(client_ip(request), account_key)
    if not decision.allowed:
        return refuse(
            html,
            429,
            "too_many_attempts",
            "Too many sign-in attempts. Wait a moment and try again.",
            retry_after_s=decision.retry_after_s,
        )
    stored_hash = account.password_hash if account is not None else None
    password = parsed.password.get_secret_value()
    # verify_password(…, None) still spends a hash, so unknown users cost the same time.
    valid = await asyncio.to_thread(verify_password, password, stored_hash, config.hasher)
    if account is None or not valid or account.is_disabled:
        config.limiter.record_failure(account_key)
        log.info("staff login refused account_known=%s", account is not None)
        if html:
            return login_page(
                request,
                status=401,
                error=INVALID_CREDENTIALS,
                next_path=next_path,
                login=parsed.login,
            )
        raise ApiError(401, "invalid_credentials", INVALID_CREDENTIALS, headers=NO_STORE_HEADERS)
    config.limiter.record_success(account_key)
    session = await issue_session(request, account.username)
    response: web.StreamResponse
    if html:
        response = redirect(PASSWORD_PATH if account.must_change else next_path)
    else:
        response = web.json_response(
            {
                "username": account.username,
                "email": account.email,
                "role": account.role,
                "must_change_password": account.must_change,
                "csrf_token": session.csrf_token,
            }
        )
    response.headers.update(NO_STORE_HEADERS)
    set_session_cookie(request, response, session)
    log.info("staff login username=%s", account.username)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    html = is_form(request) or "text/html" in request.headers.get("Accept", "")
    signed_in = await current_staff(request)
    if signed_in is not None:
        fields = await read_fields(request) if is_form(request) else {}
        if not csrf_ok(request, signed_in, fields):
            return csrf_refused(html)
        await revoke_session(
            request.app[REPOSITORY].database,
            signed_in.session.session_hash,
            now_ms=request.app[CLOCK].now_ms(),
        )
        log.info("staff logout username=%s", signed_in.account.username)
    response: web.StreamResponse = redirect(LOGIN_PATH) if html else web.json_response({"ok": True})
    response.headers.update(NO_STORE_HEADERS)
    clear_session_cookie(request, response)
    return response


def add_auth_routes(app: web.Application) -> None:
    app.router.add_post("/auth/login", login)
    app.router.add_post("/auth/logout", logout)
