"""Verification of HS256 bearer JWTs: the Admin Hub's SSO token and Evolution's `jwt_key`."""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.clock import Clock
from bridge.errors import BridgeError
from provisioning.schemas import Email

ALGORITHM = "HS256"
HUB_MAX_LIFETIME_S = 300
CLOCK_SKEW_S = 30
# Evolution mints its JWT once per event (exp = iat + 600) and reuses it for ~20 min of retries.
EVOLUTION_EXPIRY_GRACE_S = 30 * 60
_MAX_TOKEN_LEN = 4096

ConsumeJti = Callable[[str, int], Awaitable[bool]]


class JwtRejected(BridgeError):
    """A bearer JWT was refused; `reason` is a short code safe to log (never the token)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class HubSsoClaims(BaseModel):
    """Verified claims of an Admin Hub SSO token; `sub` is the staff member's work email."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sub: Email
    iat: int
    exp: int
    jti: str = Field(min_length=1, max_length=255)

    @property
    def email(self) -> str:
        return self.sub.lower()


class EvolutionJwtClaims(BaseModel):
    """Claims Evolution puts in its webhook JWT: `{iat, exp, app: "evolution", action}`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    iat: int
    exp: int
    app: str | None = None
    action: str | None = None


def _decode_hs256(token: str, secret: str, required: list[str]) -> dict[str, Any]:
    """Signature and algorithm check only; time rules are applied by the callers."""
    if not secret:
        raise JwtRejected("not_configured", "no secret configured for this bearer token")
    if not token or len(token) > _MAX_TOKEN_LEN:
        raise JwtRejected("malformed", "bearer token is empty or too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise JwtRejected("malformed", "bearer token is not a JWT") from exc
    # Checked explicitly, not only via `algorithms=`: "none", RS256 and HS512 never pass.
    if header.get("alg") != ALGORITHM:
        raise JwtRejected("algorithm", "bearer token must be signed with HS256")
    try:
        with warnings.catch_warnings():
            # A short operator-chosen secret is a configuration concern, not a per-request one.
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            payload: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                options={
                    "require": required,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
    except jwt.MissingRequiredClaimError as exc:
        raise JwtRejected("missing_claim", f"bearer token lacks the {exc.claim!r} claim") from exc
    except jwt.InvalidSignatureError as exc:
        raise JwtRejected("signature", "bearer token signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise JwtRejected("malformed", "bearer token could not be decoded") from exc
    return payload


def _check_nbf(payload: dict[str, Any], now_s: float) -> None:
    nbf = payload.get("nbf")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now_s + CLOCK_SKEW_S):
        raise JwtRejected("not_yet_valid", "bearer token is not valid yet")


def verify_hub_jwt(token: str, secret: str, now_ms: int) -> HubSsoClaims:
    """Verify an Admin Hub SSO token (DESIGN §6); the caller still has to consume its `jti`."""
    payload = _decode_hs256(token, secret, ["sub", "iat", "exp", "jti"])
    try:
        claims = HubSsoClaims.model_validate(payload)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise JwtRejected("invalid_claim", f"bearer token has invalid claim(s) {fields}") from exc
    now_s = now_ms / 1000
    if claims.iat > now_s + CLOCK_SKEW_S:
        raise JwtRejected("iat_in_future", "bearer token was issued in the future")
    if claims.exp <= claims.iat:
        raise JwtRejected("invalid_lifetime", "bearer token expires before it was issued")
    if claims.exp - claims.iat > HUB_MAX_LIFETIME_S:
        raise JwtRejected(
            "lifetime_too_long", f"bearer token may live at most {HUB_MAX_LIFETIME_S} s"
        )
    if now_s >= claims.exp + CLOCK_SKEW_S:
        raise JwtRejected("expired", "bearer token has expired")
    _check_nbf(payload, now_s)
    return claims


async def authenticate_hub_bearer(
    token: str, secret: str, now_ms: int, consume_jti: ConsumeJti
) -> HubSsoClaims:
    """Verify the token, then consume its `jti` (single use); a replay raises JwtRejected."""
    claims = verify_hub_jwt(token, secret, now_ms)
    if not await consume_jti(claims.jti, claims.exp):
        raise JwtRejected("replayed", "bearer token was already used")
    return claims


def verify_evolution_jwt(token: str, secret: str, now_ms: int) -> EvolutionJwtClaims:
    """Verify Evolution's webhook JWT; accepted up to 30 min past `exp` because retries reuse it."""
    payload = _decode_hs256(token, secret, ["iat", "exp"])
    try:
        claims = EvolutionJwtClaims.model_validate(payload)
    except ValidationError as exc:
        raise JwtRejected("invalid_claim", "bearer token has invalid iat/exp claims") from exc
    now_s = now_ms / 1000
    if claims.iat > now_s + CLOCK_SKEW_S:
        raise JwtRejected("iat_in_future", "bearer token was issued in the future")
    if now_s >= claims.exp + EVOLUTION_EXPIRY_GRACE_S:
        raise JwtRejected("expired", "bearer token has expired")
    _check_nbf(payload, now_s)
    return claims


class InMemoryJtiStore:
    """Single-replica `consume_jti`: remembers each jti until its token can no longer verify."""

    def __init__(self, clock: Clock, *, max_entries: int = 100_000) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._expiry_ms: dict[str, int] = {}
        self._heap: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._expiry_ms)

    def _prune(self, now_ms: int) -> None:
        while self._heap and self._heap[0][0] <= now_ms:
            expiry_ms, jti = heapq.heappop(self._heap)
            if self._expiry_ms.get(jti) == expiry_ms:
                del self._expiry_ms[jti]

    async def consume(self, jti: str, exp: int) -> bool:
        """True the first time a jti is seen; False on replay, or when full (fail closed)."""
        now_ms = self._clock.now_ms()
        self._prune(now_ms)
        if jti in self._expiry_ms:
            return False
        if len(self._expiry_ms) >= self._max_entries:
            return False
        # Keep it as long as verify_hub_jwt would still accept the token (exp + skew).
        expiry_ms = (exp + CLOCK_SKEW_S) * 1000
        self._expiry_ms[jti] = expiry_ms
        heapq.heappush(self._heap, (expiry_ms, jti))
        return True
