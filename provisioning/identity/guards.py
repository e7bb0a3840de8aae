"""Answers shared by the portal, login and SSO: CSRF checks, 403/429 pages, login redirects."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.web.errors import ApiError
from provisioning.identity.rendering import render_page
from provisioning.identity.sessions import csrf_matches
from provisioning.identity.web_session import SignedIn

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def csrf_ok(request: web.Request, signed_in: SignedIn, fields: dict[str, Any]) -> bool:
    """Session-authenticated POSTs carry the session's CSRF token (form field or header)."""
    presented = fields.get(CSRF_FIELD)
    if not isinstance(presented, str) or not presented:
        presented = request.headers.get(CSRF_HEADER)
    return csrf_matches(signed_in.session, presented)


def refuse(html: bool, status: int, code: str, message: str, **extra: Any) -> web.Response:
    """A 4xx as an HTML page for browsers or the JSON error body for API clients."""
    headers = {"Retry-After": str(extra.pop("retry_after_s"))} if "retry_after_s" in extra else {}
    if html:
        return render_page(
            "error.html", status=status, title=message, message=message, headers=headers
        )
    return ApiError(status, code, message, headers=headers, **extra).response()


def csrf_refused(html: bool) -> web.Response:
    return refuse(
        html,
        403,
        "csrf_failed",
        "The form has expired or did not come from this site. Reload the page and try again.",
    )
