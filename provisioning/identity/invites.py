"""Reading and redeeming one-time set-password invites (rows issued by provisioning)."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.state.database import Database
from provisioning.tokens import hash_token, is_plausible_token


@dataclass(frozen=True, slots=True)
class OpenInvite:
    """An invite that may still be redeemed, with who it is for."""

    token_hash: str
    username: str
    email: str
    expires_at_ms: int


async def find_open_invite(db: Database, token: str, *, now_ms: int) -> OpenInvite | None:
    """The unused, unexpired invite for this token (of a staff member not disabled); no side
    effects, so a link scanner's GET never burns it."""
    if not is_plausible_token(token):
        return None
    digest = hash_token(token)
    row = await db.fetchrow(
        """SELECT i.username, i.expires_at_ms, e.email FROM invites i
             JOIN employees e ON e.username = i.username
            WHERE i.token_hash = $1 AND i.used_at_ms IS NULL AND i.revoked_at_ms IS NULL
              AND i.expires_at_ms > $2
              AND e.status <> 'disabled'""",
        digest,
        now_ms,
    )
    if row is None:
        return None
    return OpenInvite(digest, row["username"], row["email"], int(row["expires_at_ms"]))


async def consume_invite(db: Database, token_hash: str, *, now_ms: int) -> bool:
    """Mark the invite used; False when another request used it first, or it was revoked
    (re-issued) or expired in the meantime."""
    updated = await db.execute(
        """UPDATE invites SET used_at_ms = $1
            WHERE token_hash = $2 AND used_at_ms IS NULL AND revoked_at_ms IS NULL
              AND expires_at_ms > $1""",
        now_ms,
        token_hash,
    )
    return updated == 1
