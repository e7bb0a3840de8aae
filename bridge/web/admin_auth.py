"""Admin bearer authentication for `/api/*` (constant-time comparison)."""

from __future__ import annotations

import hmac

from aiohttp import web

from bridge.keys import SETTINGS
from bridge.web.errors import ApiError


def require_admin(request: web.Request) -> None:
    expected = request.app[SETTINGS].bridge_admin_token.get_secret_value().encode()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected):
        raise ApiError(
            401,
            "unauthorized",
            "admin bearer token required",
            headers={"WWW-Authenticate": 'Bearer realm="bridge-admin"'},
        )
