"""Single-use `jti` of Admin Hub SSO tokens, kept in the database so every replica agrees."""

from __future__ import annotations

from bridge.clock import Clock
from bridge.state.database import Database
from provisioning.hub_jwt import CLOCK_SKEW_S


class DbJtiStore:
    """`consume` is the `ConsumeJti` of `authenticate_hub_bearer`: True the first time only."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def consume(self, jti: str, exp: int) -> bool:
        now_ms = self._clock.now_ms()
        # Kept as long as verify_hub_jwt would still accept the token (exp + skew).
        expires_at_ms = (exp + CLOCK_SKEW_S) * 1000
        async with self._db.transaction():
            await self._db.execute("DELETE FROM sso_jti WHERE expires_at_ms <= $1", now_ms)
            inserted = await self._db.execute(
                """INSERT INTO sso_jti (jti, expires_at_ms) VALUES ($1, $2)
                   ON CONFLICT (jti) DO NOTHING""",
                jti,
                expires_at_ms,
            )
        # The primary key decides between concurrent replicas: only one insert affects a row.
        return inserted == 1
