"""Staff passwords (argon2id hashes) and single-use Admin Hub SSO token ids (jti)."""

from __future__ import annotations

from bridge.state.database import Database, Dialect


async def upgrade(db: Database, dialect: Dialect) -> None:
    # must_change: set for admin-set or generated passwords; login then forces a new one.
    await db.execute(
        """CREATE TABLE staff_credentials (
            username TEXT PRIMARY KEY REFERENCES employees (username),
            password_hash TEXT NOT NULL,
            must_change BOOLEAN NOT NULL,
            updated_at_ms BIGINT NOT NULL
        )"""
    )
    # One row per accepted hub token until it could no longer verify (exp + clock skew); the
    # primary key makes "first use wins" hold across replicas.
    await db.execute(
        """CREATE TABLE sso_jti (
            jti TEXT PRIMARY KEY,
            expires_at_ms BIGINT NOT NULL
        )"""
    )
    await db.execute("CREATE INDEX sso_jti_expires ON sso_jti (expires_at_ms)")
