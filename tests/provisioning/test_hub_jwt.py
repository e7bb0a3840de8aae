"""Admin Hub SSO JWTs and Evolution webhook JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest

from provisioning.hub_jwt import (
    HUB_MAX_LIFETIME_S,
    InMemoryJtiStore,
    JwtRejected,
    authenticate_hub_bearer,
    verify_evolution_jwt,
    verify_hub_jwt,
)
from tests.provisioning.conftest import FakeClock

SECRET = "hub-secret-0123456789abcdef0123456789abcdef"
NOW_S = 1_700_000_000
NOW_MS = NOW_S * 1000


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "Kay.Ntulo@MMAllElectronics.co.za",
        "iat": NOW_S - 10,
        "exp": NOW_S + 110,
        "jti": "jti-1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=alg)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    return (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"
    )


def rejected_reason(token: str, secret: str = SECRET, now_ms: int = NOW_MS) -> str:
    with pytest.raises(JwtRejected) as info:
        verify_hub_jwt(token, secret, now_ms)
    assert token not in str(info.value)
    return info.value.reason


def test_valid_token() -> None:
    verified = verify_hub_jwt(sign(claims()), SECRET, NOW_MS)
    assert verified.jti == "jti-1"
    assert verified.email == "kay.ntulo@mmallelectronics.co.za"
    assert verified.exp - verified.iat == 120


def test_expired() -> None:
    token = sign(claims(iat=NOW_S - 400, exp=NOW_S - 200))
    assert rejected_reason(token) == "expired"


def test_wrong_signature() -> None:
    token = sign(claims(), secret="another-secret-0123456789abcdef0123456789")
    assert rejected_reason(token) == "signature"


def test_alg_none_crafted_by_hand() -> None:
    token = handmade({"alg": "none", "typ": "JWT"}, claims())
    assert rejected_reason(token) == "algorithm"


def test_alg_none_with_forged_hmac_is_still_refused() -> None:
    header = {"alg": "none", "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert rejected_reason(f"{signing_input}.{b64(signature)}") == "algorithm"


def test_hs512_refused() -> None:
    token = sign(claims(), secret=SECRET * 2, alg="HS512")
    assert rejected_reason(token) == "algorithm"


def test_rs256_header_refused() -> None:
    token = handmade({"alg": "RS256", "typ": "JWT"}, claims(), b"\x00" * 256)
    assert rejected_reason(token) == "algorithm"


def test_correct_hs256_signature_with_tampered_payload() -> None:
    token = sign(claims())
    header, _payload, signature = token.split(".")
    forged = b64(json.dumps(claims(sub="boss@mmallelectronics.co.za")).encode())
    assert rejected_reason(f"{header}.{forged}.{signature}") == "signature"


def test_lifetime_too_long() -> None:
    token = sign(claims(iat=NOW_S - 10, exp=NOW_S - 10 + HUB_MAX_LIFETIME_S + 1))
    assert rejected_reason(token) == "lifetime_too_long"


def test_lifetime_exactly_max_is_accepted() -> None:
    token = sign(claims(iat=NOW_S - 10, exp=NOW_S - 10 + HUB_MAX_LIFETIME_S))
    assert verify_hub_jwt(token, SECRET, NOW_MS).exp == NOW_S + 290


def test_exp_before_iat() -> None:
    assert rejected_reason(sign(claims(iat=NOW_S, exp=NOW_S - 1))) == "invalid_lifetime"


def test_iat_in_future() -> None:
    token = sign(claims(iat=NOW_S + 120, exp=NOW_S + 200))
    assert rejected_reason(token) == "iat_in_future"


def test_small_clock_skew_tolerated() -> None:
    token = sign(claims(iat=NOW_S + 20, exp=NOW_S + 200))
    assert verify_hub_jwt(token, SECRET, NOW_MS).iat == NOW_S + 20


@pytest.mark.parametrize("missing", ["sub", "iat", "exp", "jti"])
def test_missing_claims(missing: str) -> None:
    token = sign(claims(**{missing: None}))
    assert rejected_reason(token) == "missing_claim"


def test_sub_must_be_an_email() -> None:
    assert rejected_reason(sign(claims(sub="kay.ntulo"))) == "invalid_claim"


def test_not_a_jwt_and_empty_secret() -> None:
    assert rejected_reason("not-a-jwt") == "malformed"
    assert rejected_reason(sign(claims()), secret="") == "not_configured"


async def test_replayed_jti_refused(clock: FakeClock) -> None:
    clock.ms = NOW_MS
    store = InMemoryJtiStore(clock)
    token = sign(claims())
    first = await authenticate_hub_bearer(token, SECRET, NOW_MS, store.consume)
    assert first.jti == "jti-1"
    with pytest.raises(JwtRejected) as info:
        await authenticate_hub_bearer(token, SECRET, NOW_MS + 1000, store.consume)
    assert info.value.reason == "replayed"


async def test_jti_store_prunes_expired_entries(clock: FakeClock) -> None:
    clock.ms = NOW_MS
    store = InMemoryJtiStore(clock)
    assert await store.consume("a", NOW_S + 60)
    assert await store.consume("b", NOW_S + 300)
    assert not await store.consume("a", NOW_S + 60)
    clock.advance(60 + 31)
    assert await store.consume("c", NOW_S + 400)
    assert len(store) == 2  # "a" pruned, "b" and "c" kept
    assert not await store.consume("b", NOW_S + 300)


async def test_jti_store_fails_closed_when_full(clock: FakeClock) -> None:
    clock.ms = NOW_MS
    store = InMemoryJtiStore(clock, max_entries=2)
    assert await store.consume("a", NOW_S + 100)
    assert await store.consume("b", NOW_S + 100)
    assert not await store.consume("c", NOW_S + 100)
    clock.advance(200)
    assert await store.consume("c", NOW_S + 400)


EVOLUTION_SECRET = "evo-key"  # operators pick short jwt_key values; no warning must escape


def evolution_token(iat: int, secret: str = EVOLUTION_SECRET) -> str:
    payload = {"iat": iat, "exp": iat + 600, "app": "evolution", "action": "webhook"}
    with pytest.warns(jwt.InsecureKeyLengthWarning):
        return jwt.encode(payload, secret, algorithm="HS256")


def test_evolution_fresh_token() -> None:
    verified = verify_evolution_jwt(evolution_token(NOW_S - 5), EVOLUTION_SECRET, NOW_MS)
    assert verified.app == "evolution"
    assert verified.action == "webhook"


def test_evolution_retry_within_30_minutes_after_exp() -> None:
    # Minted 35 min ago: exp passed 25 min ago, still inside the retry grace.
    token = evolution_token(NOW_S - 35 * 60)
    assert verify_evolution_jwt(token, EVOLUTION_SECRET, NOW_MS).exp == NOW_S - 25 * 60


def test_evolution_too_old() -> None:
    token = evolution_token(NOW_S - 41 * 60)
    with pytest.raises(JwtRejected) as info:
        verify_evolution_jwt(token, EVOLUTION_SECRET, NOW_MS)
    assert info.value.reason == "expired"


def test_evolution_wrong_secret_and_alg() -> None:
    with pytest.raises(JwtRejected) as info:
        verify_evolution_jwt(evolution_token(NOW_S, "other"), EVOLUTION_SECRET, NOW_MS)
    assert info.value.reason == "signature"
    none_token = handmade({"alg": "none"}, {"iat": NOW_S, "exp": NOW_S + 600})
    with pytest.raises(JwtRejected) as info:
        verify_evolution_jwt(none_token, EVOLUTION_SECRET, NOW_MS)
    assert info.value.reason == "algorithm"


def test_evolution_missing_exp() -> None:
    with pytest.warns(jwt.InsecureKeyLengthWarning):
        token = jwt.encode({"iat": NOW_S}, EVOLUTION_SECRET, algorithm="HS256")
    with pytest.raises(JwtRejected) as info:
        verify_evolution_jwt(token, EVOLUTION_SECRET, NOW_MS)
    assert info.value.reason == "missing_claim"
