"""Shared HTTP plumbing for upstream clients: one attempt per call, one failure classifier.

Retries live only in the outbox; a client call either returns a parsed body or raises
RetryableDeliveryError / PermanentDeliveryError. Secrets travel only in their own header and are
scrubbed from every exception message.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from bridge.clients.aiohttp_sender import AiohttpSender
from bridge.clients.http import QueryParams, Sender, TransportFailure, UploadFile, UpstreamResponse
from bridge.clients.httpx_sender import HttpxSender
from bridge.clock import Clock, SystemClock
from bridge.errors import DeliveryError, PermanentDeliveryError, RetryableDeliveryError
from bridge.schemas.base import error_path

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 425, 429})
_EXCERPT_CHARS = 200
_REDACTED = "***"


def parse_retry_after(value: str | None, *, now_s: float) -> float | None:
    """Retry-After as delay seconds (RFC 9110: delta-seconds or an HTTP-date)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_s)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret occurrence (secrets shorter than 4 chars are not worth matching)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
    return text


def excerpt(text: str, secrets: Iterable[str]) -> str:
    """Short, single-line, secret-free view of a response body for error messages."""
    flat = re.sub(r"\s+", " ", text).strip()
    return redact(flat, secrets)[:_EXCERPT_CHARS]


def classify_failure(
    failure: UpstreamResponse | TransportFailure,
    *,
    system: str,
    operation: str,
    secrets: Iterable[str] = (),
    now_s: float = 0.0,
) -> DeliveryError:
    """The one rule: transport errors, timeouts, 408/425/429/5xx are retryable; the rest is not."""
    secrets = tuple(secrets)
    prefix = redact(f"{system} {operation}", secrets)
    if isinstance(failure, UpstreamResponse):
        status = failure.status_code
        body = excerpt(failure.text, secrets)
        message = f"{prefix}: HTTP {status}: {body}" if body else f"{prefix}: HTTP {status}"
        if status in RETRYABLE_STATUSES or status >= 500:
            retry_after = parse_retry_after(failure.headers.get("Retry-After"), now_s=now_s)
            return RetryableDeliveryError(message, status=status, retry_after_s=retry_after)
        return PermanentDeliveryError(message, status=status)
    detail = redact(failure.detail, secrets)
    if failure.permanent:
        return PermanentDeliveryError(f"{prefix}: {detail}")
    return RetryableDeliveryError(f"{prefix}: {detail}", never_sent=failure.never_sent)


def open_sender(
    *,
    base_url: str,
    headers: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    timeout_s: float,
    connect_timeout_s: float,
    max_connections: int,
) -> Sender:
    """aiohttp in production; httpx only when a test hands in a transport to answer for it."""
    if transport is None:
        return AiohttpSender(
            base_url=base_url,
            headers=headers,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            max_connections=max_connections,
        )
    return HttpxSender(
        base_url=base_url,
        headers=headers,
        transport=transport,
        timeout_s=timeout_s,
        connect_timeout_s=connect_timeout_s,
        max_connections=max_connections,
    )


class UpstreamHttp:
    """One upstream's HTTP sender plus the classification of its failures."""

    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        headers: Mapping[str, str],
        secrets: Iterable[str],
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        max_connections: int = 64,
        clock: Clock | None = None,
    ) -> None:
        self.system = system
        self._secrets = tuple(s for s in secrets if s)
        self._clock = clock or SystemClock()
        self._sender = open_sender(
            base_url=base_url,
            headers=headers,
            transport=transport,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            max_connections=max_connections,
        )

    async def aclose(self) -> None:
        await self._sender.aclose()

    def failure(
        self,
        failure: UpstreamResponse | TransportFailure,
        operation: str,
        extra: Iterable[str] = (),
    ) -> DeliveryError:
        return classify_failure(
            failure,
            system=self.system,
            operation=operation,
            secrets=(*self._secrets, *extra),
            now_s=self._clock.now_ms() / 1000,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: QueryParams | None = None,
        files: Sequence[UploadFile] | None = None,
        data: Mapping[str, str] | None = None,
        redact_values: Iterable[str] = (),
        raise_for_status: bool = True,
    ) -> UpstreamResponse:
        """Exactly one attempt. `redact_values` are request secrets (passwords) to scrub too."""
        operation = f"{method} {path}"
        extra = tuple(redact_values)
        try:
            response = await self._sender.send(
                method, path, json=json, params=params, data=data, files=files
            )
        except TransportFailure as exc:
            raise self.failure(exc, operation, extra) from None
        if raise_for_status and not response.is_success:
            raise self.failure(response, operation, extra)
        return response

    def json_body(self, response: UpstreamResponse, redact_values: Iterable[str] = ()) -> Any:
        extra = tuple(redact_values)
        try:
            return response.json()
        except ValueError:
            raise PermanentDeliveryError(
                f"{self._where(response, extra)}: HTTP {response.status_code}: "
                f"body is not JSON: {excerpt(response.text, (*self._secrets, *extra))}",
                status=response.status_code,
            ) from None

    def parse(
        self,
        response: UpstreamResponse,
        adapter: TypeAdapter[T],
        raw: Any = None,
        redact_values: Iterable[str] = (),
    ) -> T:
        """Validate the JSON body (or `raw`, a part of it) against the expected model."""
        extra = tuple(redact_values)
        body = self.json_body(response, extra) if raw is None else raw
        try:
            return adapter.validate_python(body)
        except ValidationError as exc:
            raise PermanentDeliveryError(
                f"{self._where(response, extra)}: answer does not fit the expected model at "
                f"{error_path(exc) or '<root>'}",
                status=response.status_code,
            ) from None

    def _where(self, response: UpstreamResponse, redact_values: Iterable[str]) -> str:
        # Paths may hold bearer-like ids (Typebot session ids): scrub them as well.
        return redact(
            f"{self.system} {response.method} {response.path}",
            (*self._secrets, *redact_values),
        )
