"""Admin-set temporary passwords: generated, shown once, and replaced at the next sign-in."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher

from bridge.state.database import Database
from provisioning.identity.accounts import save_password_hash
from provisioning.passwords import PasswordPolicy, generate_password, hash_password
from provisioning.store import revoke_staff_sessions


async def issue_temporary_password(
    db: Database,
    username: str,
    *,
    hasher: PasswordHasher,
    now_ms: int,
    policy: PasswordPolicy | None = None,
) -> str:
    """Generate and store a password with `must_change`; the caller shows it once, never logs
    it. Open sessions end, and the first sign-in with it must choose a new password."""
    password = generate_password(policy)
    password_hash = await asyncio.to_thread(hash_password, password, hasher)
    async with db.transaction(lock=f"staff:{username}"):
        await save_password_hash(db, username, password_hash, must_change=True, now_ms=now_ms)
        await revoke_staff_sessions(db, username, now_ms)
    return password
