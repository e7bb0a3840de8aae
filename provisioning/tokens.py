"""One-time invite tokens and staff session ids: 256-bit random, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import NamedTuple

TOKEN_BYTES = 32  # 256 bits; the Python docs call 32 bytes sufficient
INVITE_TTL_S = 72 * 3600
INVITE_TTL_MS = INVITE_TTL_S * 1000
STAFF_SESSION_TTL_S = 12 * 3600
STAFF_SESSION_TTL_MS = STAFF_SESSION_TTL_S * 1000
# Upper bound for a presented token; anything longer is rejected before hashing.
_MAX_PRESENTED_LEN = 256


class IssuedToken(NamedTuple):
    """A fresh token: `plain` goes to the person once, `token_hash` goes to storage."""

    plain: str
    token_hash: str

    def __repr__(self) -> str:
        # Keeps the plain token out of logs and tracebacks that repr() their locals.
        return f"IssuedToken(plain='***', token_hash={self.token_hash!r})"


def hash_token(plain: str) -> str:
    """SHA-256 hex digest; a fast hash is enough for 256-bit random tokens (look-up by digest)."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def new_token() -> IssuedToken:
    """A one-time token for invite (set-password) links."""
    plain = secrets.token_urlsafe(TOKEN_BYTES)
    return IssuedToken(plain, hash_token(plain))


def new_session_id() -> IssuedToken:
    """A staff session id: the cookie carries `plain`, storage keeps `token_hash`."""
    return new_token()


def is_plausible_token(presented: str) -> bool:
    """Cheap shape check before touching storage (urlsafe base64, bounded length)."""
    if not presented or len(presented) > _MAX_PRESENTED_LEN:
        return False
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in presented)


def token_matches(presented: str, stored_hash: str) -> bool:
    """Constant-time check of a presented token against a stored digest."""
    return hmac.compare_digest(hash_token(presented).encode(), stored_hash.encode())


def digests_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets or digests."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
