"""One-time tokens and session ids."""

from __future__ import annotations

import hashlib

from provisioning.tokens import (
    INVITE_TTL_MS,
    INVITE_TTL_S,
    digests_equal,
    hash_token,
    is_plausible_token,
    new_session_id,
    new_token,
    token_matches,
)


def test_invite_expiry_is_72_hours() -> None:
    assert INVITE_TTL_S == 72 * 3600
    assert INVITE_TTL_MS == 259_200_000


def test_new_token_shape() -> None:
    plain, token_hash = new_token()
    assert plain != token_hash
    assert len(plain) >= 43  # 32 random bytes, urlsafe base64 without padding
    assert token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert len(token_hash) == 64
    assert is_plausible_token(plain)


def test_hash_is_stable() -> None:
    assert hash_token("abc") == hash_token("abc")
    assert hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_tokens_differ() -> None:
    issued = [new_token() for _ in range(100)]
    assert len({t.plain for t in issued}) == 100
    assert len({t.token_hash for t in issued}) == 100
    assert new_session_id().plain != new_session_id().plain


def test_repr_hides_plain_token() -> None:
    issued = new_token()
    assert issued.plain not in repr(issued)
    assert issued.token_hash in repr(issued)


def test_token_matches_constant_time_helpers() -> None:
    plain, token_hash = new_token()
    assert token_matches(plain, token_hash)
    assert not token_matches(plain + "x", token_hash)
    assert digests_equal(token_hash, token_hash)
    assert not digests_equal(token_hash, hash_token("other"))


def test_implausible_tokens() -> None:
    assert not is_plausible_token("")
    assert not is_plausible_token("a" * 300)
    assert not is_plausible_token("abc/def")
    assert not is_plausible_token("é" * 10)
