"""What an upstream call returns or raises, whichever HTTP library carried it.

Clients see only `UpstreamResponse` and `TransportFailure`; `AiohttpSender` (production) and
`HttpxSender` (the test seam for respx/mock transports) both speak this `Sender` protocol.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from multidict import CIMultiDictProxy

from bridge import __version__

# `(field, (file_name, data, content_type))`, as multipart uploads are described to httpx.
UploadFile = tuple[str, tuple[str, bytes, str]]
QueryParams = Mapping[str, str | int]


def default_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """JSON-first defaults, then the client's own headers (its credentials) on top."""
    return {
        "Accept": "application/json",
        "User-Agent": f"omni-bridge/{__version__}",
        **headers,
    }


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    """A fully read answer. `path` is the decoded request path (for error messages only)."""

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes
    method: str
    path: str

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code <= 299

    def json(self) -> Any:
        """The parsed body; ValueError (JSONDecodeError) when it is not JSON."""
        return jsonlib.loads(self.content)


class TransportFailure(Exception):
    """No HTTP answer came back. `detail` names the library's error and holds no request data
    beyond what the library put in its message (callers still redact it)."""

    def __init__(self, detail: str, *, never_sent: bool = False, permanent: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        # The request provably never left (refused, DNS, connect/pool timeout): safe to resend.
        self.never_sent = never_sent
        # Waiting cannot help (malformed URL, unsupported scheme).
        self.permanent = permanent


def describe(exc: BaseException) -> str:
    """`TypeName: message`, or just the type name when the message is empty (timeouts)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Sender(Protocol):
    """One attempt per `send`; raises TransportFailure when no answer came back."""

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: QueryParams | None = None,
        data: Mapping[str, str] | None = None,
        files: Sequence[UploadFile] | None = None,
    ) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...
