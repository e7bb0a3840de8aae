"""Evolution webhook sender: envelope, custom headers, `jwt_key` bearer, retries (2.3.x)."""

from __future__ import annotations

import asyncio
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import jwt
from jwt.warnings import InsecureKeyLengthWarning

# Evolution aborts at once on these statuses (WEBHOOK_RETRY_NON_RETRYABLE_STATUS_CODES).
NON_RETRYABLE = frozenset({400, 401, 403, 404, 422})


@dataclass
class RetryPolicy:
    """Real defaults: 10 attempts, 5 s doubling to 300 s, 30 s timeout; tests use short ones."""

    max_attempts: int = 10
    initial_delay_s: float = 0.05
    max_delay_s: float = 0.5
    timeout_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.initial_delay_s * 2 ** (attempt - 1), self.max_delay_s))


@dataclass
class WebhookConfig:
    """The stored `Webhook` row of one instance (`POST /webhook/set`)."""

    enabled: bool = False
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    by_events: bool = False
    base64: bool = False
    events: list[str] = field(default_factory=list)

    def wants(self, event: str) -> bool:
        if not self.enabled or not self.url.startswith(("http://", "https://")):
            return False
        name = event.replace(".", "_").replace("-", "_").upper()
        return not self.events or name in self.events


@dataclass
class Delivery:
    """One event's delivery record, inspectable through `/_sim/evolution/deliveries`."""

    event: str
    url: str
    message_id: str | None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    finished: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "url": self.url,
            "message_id": self.message_id,
            "attempts": self.attempts,
            "delivered": self.delivered,
            "finished": self.finished,
        }


def _headers(config: WebhookConfig) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/plain, */*"}
    for name, value in config.headers.items():
        if name == "jwt_key":
            # Minted once per event, before the retries, exactly like 2.3.x.
            iat = int(time.time())
            claims = {"iat": iat, "exp": iat + 600, "app": "evolution", "action": "webhook"}
            with warnings.catch_warnings():
                # Evolution signs with whatever key it is given, however short.
                warnings.simplefilter("ignore", InsecureKeyLengthWarning)
                bearer = jwt.encode(claims, value, algorithm="HS256")
            headers["Authorization"] = "Bearer " + bearer
        else:
            headers[name] = value
    return headers


def envelope(
    *, event: str, instance: str, data: Any, destination: str, sender: str, server_url: str
) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "event": event,
        "instance": instance,
        "data": data,
        "destination": destination,
        "date_time": now,
        "sender": sender,
        "server_url": server_url,
        "apikey": None,
    }


async def deliver(
    session: aiohttp.ClientSession,
    config: WebhookConfig,
    body: dict[str, Any],
    policy: RetryPolicy,
    record: Delivery,
) -> None:
    """POST with Evolution's retry loop; fills `record` as it goes."""
    url = record.url
    headers = _headers(config)
    for attempt in range(1, policy.max_attempts + 1):
        outcome: dict[str, Any] = {"attempt": attempt}
        try:
            timeout = aiohttp.ClientTimeout(total=policy.timeout_s)
            async with session.post(url, json=body, headers=headers, timeout=timeout) as resp:
                await resp.read()
                outcome["status"] = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome["error"] = type(exc).__name__
        record.attempts.append(outcome)
        status = outcome.get("status")
        if isinstance(status, int) and 200 <= status < 300:
            record.delivered = True
            break
        if isinstance(status, int) and status in NON_RETRYABLE:
            break
        if attempt < policy.max_attempts:
            await asyncio.sleep(policy.delay(attempt))
    record.finished = True
