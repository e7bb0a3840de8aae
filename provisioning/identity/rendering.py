"""Server-rendered HTML pages (jinja2, autoescaped) with the portal's security headers."""

from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bridge.settings import Settings

NO_STORE_HEADERS = {
    "Cache-Control": "no-store",
    # Invite tokens and SSO links live in URLs: never leak them to another site via Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("provisioning.identity", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def chatwoot_sources(settings: Settings) -> str:
    """CSP sources for where /sso/chatwoot redirects: CHATWOOT_URL's origin, else any https
    origin (Chatwoot's public FRONTEND_URL may differ from the URL the bridge calls)."""
    chatwoot = urlsplit(str(settings.chatwoot_url))
    return f"'self' {chatwoot.scheme}://{chatwoot.netloc} https:"


def content_security_policy(nonce: str, frame_src: str, form_action: str) -> str:
    # No scripts at all; the only inline style carries the per-response nonce.
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src 'nonce-{nonce}'",
            "img-src 'self'",
            f"form-action {form_action}",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"frame-src {frame_src}",
        )
    )


def render_page(
    template: str,
    *,
    status: int = 200,
    frame_src: str = "'none'",
    form_action: str = "'self'",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> web.Response:
    nonce = secrets.token_urlsafe(16)
    body = environment().get_template(template).render(csp_nonce=nonce, **context)
    response = web.Response(status=status, text=body, content_type="text/html")
    response.headers.update(NO_STORE_HEADERS)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = content_security_policy(
        nonce, frame_src, form_action
    )
    if headers:
        response.headers.update(headers)
    return response
