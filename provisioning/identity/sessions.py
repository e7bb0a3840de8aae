"""Server-side staff sessions: the cookie holds a random id, storage only its SHA-256."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from bridge.state.database import Database
from provisioning.tokens import hash_token, is_plausible_token, new_session_id


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A live session; `plain` is the cookie value (needed to derive the CSRF token)."""

    plain: str
    session_hash: str
    username: str
    expires_at_ms: int

    def __repr__(self) -> str:
        return f"StaffSession(username={self.username!r}, plain='***')"

    @property
    def csrf_token(self) -> str:
        return csrf_token_for(self.plain)


def csrf_token_for(session_plain: str) -> str:
    """Per-session CSRF token derived from the session secret (nothing else to store)."""
    return hmac.new(session_plain.encode(), b"hub-csrf-v1", hashlib.sha256).hexdigest()


def csrf_matches(session: StaffSession, presented: str | None) -> bool:
    if not presented:
        return False
    return hmac.compare_digest(session.csrf_token.encode(), presented.strip().encode())


async def create_session(db: Database, username: str, *, now_ms: int, ttl_ms: int) -> StaffSession:
    issued = new_session_id()
    expires_at_ms = now_ms + ttl_ms
    await db.execute(
        """INSERT INTO staff_sessions
             (session_hash, username, created_at_ms, expires_at_ms, revoked_at_ms)
           VALUES ($1, $2, $3, $4, NULL)""",
        issued.token_hash,
        username,
        now_ms,
        expires_at_ms,
    )
    return StaffSession(issued.plain, issued.token_hash, username, expires_at_ms)


async def find_session(db: Database, plain: str | None, *, now_ms: int) -> StaffSession | None:
    """The live (not revoked, not expired) session for a cookie value, if any."""
    if plain is None or not is_plausible_token(plain):
        return None
    digest = hash_token(plain)
    row = await db.fetchrow(
        """SELECT username, expires_at_ms FROM staff_sessions
            WHERE session_hash = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2""",
        digest,
        now_ms,
    )
    if row is None:
        return None
    return StaffSession(plain, digest, row["username"], int(row["expires_at_ms"]))


async def revoke_session(db: Database, session_hash: str, *, now_ms: int) -> None:
    await db.execute(
        """UPDATE staff_sessions SET revoked_at_ms = $1
            WHERE session_hash = $2 AND revoked_at_ms IS NULL""",
        now_ms,
        session_hash,
    )


async def purge_expired_sessions(db: Database, *, now_ms: int) -> int:
    """Drop sessions that can no longer authenticate anything."""
    return await db.execute("DELETE FROM staff_sessions WHERE expires_at_ms <= $1", now_ms)
