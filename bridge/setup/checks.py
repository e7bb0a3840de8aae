"""One verification result and the PASS/WARN/FAIL line it prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

from bridge.errors import BridgeError

Status = Literal["PASS", "WARN", "FAIL"]


@dataclass(frozen=True)
class Check:
    status: Status
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status} {self.name}: {self.detail}"


def failed(name: str, exc: BaseException) -> Check:
    """A check that could not run: the client errors are already free of secrets."""
    if isinstance(exc, BridgeError):
        return Check("FAIL", name, str(exc))
    if isinstance(exc, httpx.HTTPError):
        return Check("FAIL", name, f"{type(exc).__name__}: {exc}")
    return Check("FAIL", name, f"{type(exc).__name__}")


def version_tuple(text: str) -> tuple[int, ...]:
    """ "4.14.0" → (4, 14, 0); "v2.3.7-rc1" → (2, 3, 7); unparsable parts stop the tuple."""
    parts: list[int] = []
    for piece in text.strip().lstrip("vV").split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def chatwoot_version_check(version: str) -> Check:
    """>= 4.13 signs API-inbox webhooks; 4.14.0 blocks private-network webhook targets."""
    parsed = version_tuple(version)
    name = "chatwoot version"
    if parsed[:3] == (4, 14, 0):
        return Check(
            "WARN",
            name,
            f"{version}: webhooks to private/LAN/docker addresses are blocked (SafeFetch) and "
            "4.14.0 cannot allow them; use >= 4.14.1 with SAFE_FETCH_ALLOW_PRIVATE_NETWORK=true "
            "if the bridge is on a private network",
        )
    if parsed < (4, 13):
        return Check(
            "WARN",
            name,
            f"{version}: API-inbox webhooks are unsigned before 4.13; use CHATWOOT_WEBHOOK_TOKEN "
            "or upgrade (>= 4.14.1 recommended)",
        )
    return Check("PASS", name, f"{version} (signed webhooks)")
