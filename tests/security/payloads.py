"""Real payload samples from the shared contracts, and signed requests for each webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from tests.contracts_dir import CONTRACTS_DIR
from tests.security.target import Target


def contract_samples(folder: str, pattern: str = "*.json") -> list[Any]:
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((CONTRACTS_DIR / folder).glob(pattern))
    ]


def evolution_samples() -> list[Any]:
    return [s for s in contract_samples("evolution") if isinstance(s, dict) and "event" in s]


def chatwoot_samples() -> list[Any]:
    return [
        s for s in contract_samples("chatwoot/examples") if isinstance(s, dict) and "event" in s
    ]


def typebot_samples() -> list[Any]:
    return [
        {"bridge_contact": "1.abc", "department": "DTV", "name": "Thandi"},
        *contract_samples("typebot/examples", "httpRequestBlock*.json"),
    ]


def chatwoot_signature(secret: str, timestamp: str, raw: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(target: Target, path: str, raw: bytes) -> dict[str, str]:
    """Valid credentials for `path` (so the request reaches validation)."""
    if path.startswith("/webhooks/evolution"):
        return {"X-Webhook-Secret": target.secrets["evolution"]}
    if path == "/webhooks/typebot":
        return {"X-Webhook-Secret": target.secrets["typebot"]}
    if path == "/webhooks/chatwoot":
        ts = str(int(time.time()))
        return {
            "X-Chatwoot-Timestamp": ts,
            "X-Chatwoot-Signature": chatwoot_signature(target.secrets["chatwoot"], ts, raw),
        }
    return dict(target.admin)
