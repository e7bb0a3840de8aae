"""What a request is: a browser or an API client, its address, its origin, a safe `next`."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from aiohttp import web
from yarl import URL

from bridge.keys import SETTINGS

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
LOGIN_PATH = "/hub/login"
HOME_PATH = "/hub/"
_MAX_NEXT_LEN = 512


def is_form(request: web.Request) -> bool:
    return request.content_type in FORM_TYPES


def wants_html(request: web.Request) -> bool:
    """Browsers send forms or accept HTML; API clients send/accept JSON."""
    if request.query.get("format") == "json":
        return False
    if is_form(request):
        return True
    return "text/html" in request.headers.get("Accept", "")


def client_ip(request: web.Request) -> str:
    """The peer address; X-Real-IP only when the peer is a proxy on a private network.

    nginx (config/nginx/bridge.conf) sets X-Real-IP to the client's address. A client that
    reaches the bridge directly from the internet cannot choose its rate-limit key this way.
    """
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Real-IP", "").strip()
    if not forwarded:
        return peer
    try:
        peer_ip = ipaddress.ip_address(peer)
        ipaddress.ip_address(forwarded)
    except ValueError:
        return peer
    return forwarded if peer_ip.is_private or peer_ip.is_loopback else peer


def origin_allowed(request: web.Request) -> bool:
    """Login-CSRF guard for POSTs without a session: did our own page send this?

    Browsers say so in `Sec-Fetch-Site` (same-origin; "none" = typed by the user). Our pages
    send `Referrer-Policy: no-referrer`, under which a form POST carries `Origin: null`, so
    Origin is only the fallback for browsers without fetch metadata. Requests with neither
    header (API clients, scripts) are not browser CSRF and pass.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    if not parts.scheme or not parts.netloc:
        return False  # "null": sandboxed frame or opaque origin
    public = urlsplit(str(request.app[SETTINGS].bridge_public_url))
    if (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower()):
        return True
    # Direct access (no proxy) or a proxy that keeps the Host header.
    return parts.netloc.lower() == request.host.lower()


def safe_next(value: str | None, default: str = HOME_PATH) -> str:
    """A local path to continue to after login; anything else (open redirect) → default."""
    if not value or len(value) > _MAX_NEXT_LEN:
        return default
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def login_redirect(request: web.Request) -> web.Response:
    """302 to the login page, remembering where the browser wanted to go."""
    response = redirect(str(URL(LOGIN_PATH).with_query(next=request.path_qs)), 302)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(location: str, status: int = 303) -> web.Response:
    """A redirect as a response object (cookies can be set on it; nothing is raised)."""
    return web.Response(status=status, headers={"Location": location})
