"""Test-seam sender: an httpx.AsyncClient over a given transport (respx or httpx.MockTransport).

Production never builds one; it keeps the clients' `transport=` argument working so the
respx-based client tests need no real server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from multidict import CIMultiDict, CIMultiDictProxy

from bridge.clients.http import (
    QueryParams,
    TransportFailure,
    UploadFile,
    UpstreamResponse,
    default_headers,
    describe,
)


def _failure(exc: httpx.HTTPError) -> TransportFailure:
    if isinstance(exc, httpx.UnsupportedProtocol):
        # A malformed base URL never heals by waiting.
        return TransportFailure(describe(exc), permanent=True)
    if isinstance(exc, httpx.TransportError):
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return TransportFailure(describe(exc), never_sent=never_sent)
    # Redirect loops, undecodable bodies: not a network hiccup.
    return TransportFailure(describe(exc), permanent=True)


class HttpxSender:
    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        transport: httpx.AsyncBaseTransport,
        timeout_s: float,
        connect_timeout_s: float,
        max_connections: int,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=default_headers(headers),
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
        )

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
        try:
            response = await self._client.request(
                method, path, json=json, params=params, data=data, files=files
            )
        except httpx.HTTPError as exc:
            raise _failure(exc) from exc
        return UpstreamResponse(
            status_code=response.status_code,
            headers=CIMultiDictProxy(CIMultiDict(response.headers.multi_items())),
            content=response.content,
            method=response.request.method,
            path=response.request.url.path,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
