"""The JSON error format of DESIGN.md §6 and the middleware that applies it everywhere."""

from __future__ import annotations

import itertools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from bridge.errors import PayloadError, StorageUnavailable
from bridge.logs import request_id_var

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Codes for aiohttp's own HTTP exceptions, so every 4xx/5xx body has the same shape.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_payload",
    429: "too_many_requests",
    503: "unavailable",
}


class ApiError(Exception):
    """An HTTP error with the bridge's JSON body; raise it from any handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> web.Response:
        response = json_error(self.status, self.code, self.message, **self.extra)
        response.headers.update(self.headers)
        return response


def error_body(code: str, message: str, **extra: object) -> str:
    error: dict[str, object] = {"code": code, "message": message}
    error.update(extra)
    return json.dumps({"error": error})


def json_error(status: int, code: str, message: str, **extra: object) -> web.Response:
    return web.Response(
        status=status, text=error_body(code, message, **extra), content_type="application/json"
    )


class _RequestIds:
    """32 hex characters: a random per-process prefix and a counter (uuid4 reads the OS's random
    source once per request, a twentieth of a webhook's CPU; log correlation needs uniqueness,
    not secrecy)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def mint(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


_request_ids = _RequestIds()


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Reuse a caller's X-Request-Id (bounded, printable) or mint one; echo it back."""
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else ""
    token = request_id_var.set(request_id or _request_ids.mint())
    try:
        response = await handler(request)
        response.headers["X-Request-Id"] = request_id_var.get() or ""
        return response
    except web.HTTPException as exc:
        exc.headers["X-Request-Id"] = request_id_var.get() or ""
        raise
    finally:
        request_id_var.reset(token)


def error_middleware(
    max_body_bytes: int,
) -> Middleware:
    """Every error leaves as `{"error": {"code", "message"}}`; client mistakes never as 5xx."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Refuse a declared oversized body before reading any of it.
        if request.content_length is not None and request.content_length > max_body_bytes:
            return _too_large(max_body_bytes)
        return await _handle(request, handler, max_body_bytes)

    return middleware


def _too_large(max_body_bytes: int) -> web.Response:
    return json_error(
        413, "payload_too_large", f"request body exceeds the limit of {max_body_bytes} bytes"
    )


async def _handle(
    request: web.Request, handler: Handler, max_body_bytes: int
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except PayloadError as exc:
        return json_error(422, "invalid_payload", str(exc), path=exc.path)
    except StorageUnavailable as exc:
        log.warning("storage unavailable: %s", exc)
        return json_error(503, "storage_unavailable", "storage is unavailable, retry later")
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        if exc.status == 413:
            return _too_large(max_body_bytes)
        message = exc.reason
        code = _HTTP_CODES.get(exc.status, "http_error")
        response = json_error(exc.status, code, message)
        for name in ("Allow", "Location", "Retry-After", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal_error", "internal error")
