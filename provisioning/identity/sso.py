"""`GET /sso/chatwoot`: sign a staff member into Chatwoot with a one-time login URL."""

from __future__ import annotations

import logging

from aiohttp import web

from bridge.errors import DeliveryError
from bridge.keys import CLOCK, REPOSITORY, SETTINGS, UPSTREAMS
from bridge.web.errors import ApiError
from provisioning.hub_jwt import JwtRejected, authenticate_hub_bearer
from provisioning.identity.accounts import StaffAccount, find_account
from provisioning.identity.auth import PASSWORD_PATH
from provisioning.identity.chatwoot_login import fresh_login_url, resolve_cw_user_id
from provisioning.identity.guards import refuse
from provisioning.identity.jti_store import DbJtiStore
from provisioning.identity.rendering import NO_STORE_HEADERS
from provisioning.identity.request_info import login_redirect, redirect, wants_html
from provisioning.identity.web_session import current_staff

log = logging.getLogger(__name__)

_BEARER_CHALLENGE = 'Bearer realm="bridge-sso", error="invalid_token"'
_MAX_CONVERSATION_ID = 2**53


def _conversation(request: web.Request) -> int | None:
    raw = request.query.get("conversation")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 0 < int(raw) < _MAX_CONVERSATION_ID:
        raise ApiError(422, "invalid_conversation", "conversation must be a positive integer id")
    return int(raw)


def _bearer_refused(message: str) -> ApiError:
    # Always 401 JSON, never a redirect: a machine sent this, not a browser to send to login.
    return ApiError(
        401,
        "invalid_token",
        message,
        headers={"WWW-Authenticate": _BEARER_CHALLENGE, **NO_STORE_HEADERS},
    )


async def _account_from_bearer(request: web.Request, authorization: str) -> StaffAccount:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _bearer_refused("expected Authorization: Bearer <JWT>")
    app = request.app
    db, clock = app[REPOSITORY].database, app[CLOCK]
    secret = app[SETTINGS].hub_sso_secret.get_secret_value()
    try:
        claims = await authenticate_hub_bearer(
            token.strip(), secret, clock.now_ms(), DbJtiStore(db, clock).consume
        )
    except JwtRejected as exc:
        log.info("hub sso token refused reason=%s", exc.reason)
        raise _bearer_refused(str(exc)) from None
    account = await find_account(db, claims.email)
    if account is None:
        raise _bearer_refused("the token's subject is not a staff member")
    return account


async def sso_chatwoot(request: web.Request) -> web.StreamResponse:
    app = request.app
    conversation_id = _conversation(request)
    as_json = request.query.get("format") == "json"
    authorization = request.headers.get("Authorization")
    html = False
    if authorization is not None:
        account = await _account_from_bearer(request, authorization)
    else:
        html = wants_html(request)
        signed_in = await current_staff(request)
        if signed_in is None:
            if html:
                return login_redirect(request)
            raise ApiError(401, "unauthorized", "sign in first (staff session or hub bearer token)")
        account = signed_in.account
        if account.must_change and not account.is_disabled:
            if html:
                return redirect(PASSWORD_PATH, 302)
            raise ApiError(403, "password_change_required", "change your password first")
    if account.is_disabled:
        return refuse(html, 403, "staff_disabled", "This staff account is disabled.")
    platform = app[UPSTREAMS].chatwoot_platform
    if platform is None:
        return refuse(
            html, 503, "sso_not_configured", "Chatwoot sign-in is not configured on this bridge."
        )
    try:
        cw_user_id = await resolve_cw_user_id(
            app[REPOSITORY].database, app[UPSTREAMS].chatwoot, account
        )
        if cw_user_id is None:
            return refuse(
                html,
                409,
                "chatwoot_user_missing",
                "No Chatwoot user exists for this staff member yet; ask an administrator.",
            )
        url = await fresh_login_url(
            platform,
            cw_user_id,
            account_id=app[SETTINGS].chatwoot_account_id,
            conversation_id=conversation_id,
        )
    except DeliveryError as exc:
        log.warning("chatwoot sso link failed username=%s: %s", account.username, exc)
        return refuse(html, 502, "chatwoot_unavailable", "Chatwoot did not answer; try again.")
    log.info("chatwoot sso link issued username=%s", account.username)
    response = web.json_response({"url": url}) if as_json else redirect(url, 302)
    response.headers.update(NO_STORE_HEADERS)
    return response


def add_sso_routes(app: web.Application) -> None:
    app.router.add_get("/sso/chatwoot", sso_chatwoot)
