"""Production sender: one aiohttp ClientSession per upstream client.

httpx spent most of the bridge's CPU in its connection pool and URL merging; aiohttp's client
costs a fraction of that. The session is made on the first send because clients are built
outside a running event loop.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from bridge.clients.http import (
    QueryParams,
    TransportFailure,
    UploadFile,
    UpstreamResponse,
    default_headers,
    describe,
)

# Below the 5 s idle timeout of Node servers (Evolution, Typebot), so a pooled connection is
# dropped here before the server closes it under a request.
KEEPALIVE_S = 4.0


def _json_bytes(value: Any) -> bytes:
    # Same encoding as httpx used: compact, UTF-8, NaN refused (ValueError).
    text = jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate (a customer's broken emoji): send it escaped
        return jsonlib.dumps(value, separators=(",", ":"), allow_nan=False).encode()


def _form(data: Mapping[str, str] | None, files: Sequence[UploadFile] | None) -> aiohttp.FormData:
    """Multipart when there are files, form-urlencoded otherwise."""
    form = aiohttp.FormData()
    for name, value in (data or {}).items():
        form.add_field(name, value)
    for field, (file_name, content, content_type) in files or ():
        form.add_field(field, content, filename=file_name, content_type=content_type)
    return form


def _failure(exc: BaseException, timeout_s: float) -> TransportFailure:
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        # Refused, DNS, TLS handshake, or no connection within the connect timeout.
        return TransportFailure(describe(exc), never_sent=True)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        # A malformed URL or a scheme other than http/https never heals by waiting.
        return TransportFailure(describe(exc), permanent=True)
    if isinstance(exc, TimeoutError) and not str(exc):
        return TransportFailure(f"{type(exc).__name__}: no complete answer within {timeout_s} s")
    return TransportFailure(describe(exc))


class AiohttpSender:
    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        timeout_s: float,
        connect_timeout_s: float,
        max_connections: int,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = default_headers(headers)
        self._timeout_s = timeout_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect_timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the upstream client has been closed")
        if self._session is None:
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, keepalive_timeout=KEEPALIVE_S
                ),
                headers=self._headers,
                timeout=self._timeout,
                # No state may leak from one call into the next.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            # aiohttp silently resends GET/PUT/DELETE once when the connection drops; the
            # outbox owns every retry, so one call is one request (aiohttp's own TestClient
            # turns it off the same way).
            session._retry_connection = False
            self._session = session
        return self._session

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: QueryParams | None = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[UploadFile] | None = None,
    ) -> UpstreamResponse:
        session = self._open()
        body: bytes | aiohttp.FormData | None = None
        headers: dict[str, str] | None = None
        if json is not None:
            body = _json_bytes(json)
            headers = {"Content-Type": "application/json"}
        elif data is not None or files:
            body = _form(data, files)
        try:
            async with session.request(
                method,
                self._base_url + path,
                params=params,
                data=body,
                headers=headers,
                allow_redirects=False,
            ) as response:
                content = await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise _failure(exc, self._timeout_s) from exc
        return UpstreamResponse(
            status_code=response.status,
            headers=response.headers,
            content=content,
            method=method,
            path=response.url.path,
        )

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
