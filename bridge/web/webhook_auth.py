"""Authentication of the three webhook sources (DESIGN.md §4, §6).

- Evolution: `X-Webhook-Secret` static header, or Evolution's `jwt_key` bearer JWT (HS256 signed
  with the same secret). Evolution mints the JWT once per event *before* its retries, so a retry
  may carry an expired token: accept up to 30 min past `exp`.
- Chatwoot: `X-Chatwoot-Signature: sha256=<hex HMAC(secret, "<ts>.<raw body>")>` with the
  timestamp within 300 s, against any configured inbox/agent-bot secret; or `?token=` for
  Chatwoot < 4.13, which does not sign.
- Typebot: `X-Webhook-Secret` static header.
Every comparison is constant time; nothing here logs a secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from aiohttp import web
from pydantic import SecretStr

from bridge.web.errors import ApiError
from provisioning.hub_jwt import JwtRejected, verify_evolution_jwt

CHATWOOT_SIGNATURE_WINDOW_S = 300


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def secrets_equal(given: str, expected: SecretStr) -> bool:
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def check_static_secret(request: web.Request, secret: SecretStr) -> None:
    given = request.headers.get("X-Webhook-Secret")
    if given is None or not secrets_equal(given, secret):
        raise _unauthorized("missing or wrong X-Webhook-Secret")


def check_evolution(request: web.Request, secret: SecretStr, now_ms: int) -> None:
    if "X-Webhook-Secret" in request.headers:
        check_static_secret(request, secret)
        return
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing X-Webhook-Secret or bearer token")
    try:
        verify_evolution_jwt(token.strip(), secret.get_secret_value(), now_ms)
    except JwtRejected as exc:
        raise _unauthorized(f"bearer token refused: {exc.reason}") from None


def chatwoot_signature(secret: str, timestamp: str, raw_body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def check_chatwoot(
    request: web.Request,
    raw_body: bytes,
    secrets: Sequence[SecretStr],
    token: SecretStr,
    now_s: float,
) -> None:
    signature = request.headers.get("X-Chatwoot-Signature")
    if signature is not None and secrets:
        timestamp = request.headers.get("X-Chatwoot-Timestamp", "")
        try:
            age = abs(now_s - int(timestamp))
        except ValueError:
            raise _unauthorized("missing or invalid X-Chatwoot-Timestamp") from None
        if age > CHATWOOT_SIGNATURE_WINDOW_S:
            raise _unauthorized("X-Chatwoot-Timestamp is outside the 300 s window")
        # Check every secret (no early exit), so timing does not tell which one matched.
        matches = [
            hmac.compare_digest(
                signature.encode(),
                chatwoot_signature(s.get_secret_value(), timestamp, raw_body).encode(),
            )
            for s in secrets
        ]
        if any(matches):
            return
        raise _unauthorized("X-Chatwoot-Signature does not match")
    given = request.query.get("token")
    if token.get_secret_value() and given is not None and secrets_equal(given, token):
        return
    raise _unauthorized("missing or invalid Chatwoot signature or token")
