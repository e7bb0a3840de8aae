"""PostgreSQL backend (asyncpg pool, imported lazily): advisory locks work across replicas."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from bridge.errors import StorageUnavailable
from bridge.state.database import Database, LockKey, Row, affected_rows, lock_name
from bridge.state.sql import PG_LOCK_SQL as LOCK_SQL
from bridge.state.sql import pg_begin_locked_sql

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)


def redact(url: str) -> str:
    """The URL with its password replaced, for logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _unavailable_errors() -> tuple[type[BaseException], ...]:
    import asyncpg

    return (
        OSError,
        TimeoutError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        asyncpg.ConnectionDoesNotExistError,
        asyncpg.TooManyConnectionsError,
        asyncpg.AdminShutdownError,
        asyncpg.CrashShutdownError,
    )


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    try:
        yield
    except StorageUnavailable:
        raise
    except Exception as exc:
        if isinstance(exc, _unavailable_errors()):
            raise StorageUnavailable(f"PostgreSQL unavailable: {exc}") from exc
        raise


class PostgresDatabase(Database):
    """asyncpg pool; `transaction(lock=k)` takes `pg_advisory_xact_lock` inside the transaction,
    so the lock holds across processes and replicas and is released by COMMIT/ROLLBACK."""

    dialect = "postgres"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._conn_var: ContextVar[asyncpg.Connection | None] = ContextVar(
            f"bridge_pg_conn_{id(self)}", default=None
        )

    async def start(self) -> None:
        if self._pool is not None:
            return
        import asyncpg

        async with _translated():
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self._min_size,
                max_size=self._max_size,
                timeout=10,
                reset=_keep_session,
            )
        log.info("postgres pool opened url=%s", redact(self.url))

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StorageUnavailable("PostgreSQL pool is not open")
        return self._pool

    def transaction(self, *, lock: LockKey | None = None) -> AbstractAsyncContextManager[None]:
        return self._transaction(lock)

    @asynccontextmanager
    async def _transaction(self, lock: LockKey | None) -> AsyncIterator[None]:
        conn = self._conn_var.get()
        if conn is not None:  # join the outer transaction; advisory xact locks are re-entrant
            if lock is not None:
                async with _translated():
                    await conn.execute(LOCK_SQL, lock_name(lock))
            yield
            return
        pool = self._get_pool()
        async with _translated():
            conn = await pool.acquire(timeout=10)
        try:
            begin = "BEGIN" if lock is None else pg_begin_locked_sql(lock_name(lock))
            try:
                async with _translated():
                    # The lock rides with BEGIN: a round trip saved on every locked transaction.
                    await conn.execute(begin)
            except BaseException:  # e.g. cancelled while waiting for the lock
                await _quietly(lambda: conn.execute("ROLLBACK"))
                raise
            token = self._conn_var.set(conn)
            try:
                yield
            except BaseException:
                self._conn_var.reset(token)
                await _quietly(lambda: conn.execute("ROLLBACK"))
                raise
            self._conn_var.reset(token)
            async with _translated():
                await conn.execute("COMMIT")
        finally:
            # Released to the pool it came from even while close() runs: pool.close() waits for
            # every acquired connection, so skipping the release would hang the shutdown.
            await pool.release(conn)

    async def execute(self, sql: str, *args: Any) -> int:
        async with _translated():
            conn = self._conn_var.get()
            if conn is not None:
                return affected_rows(await conn.execute(sql, *args))
            return affected_rows(await self._get_pool().execute(sql, *args))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with _translated():
            conn = self._conn_var.get()
            if conn is not None:
                return list(await conn.fetch(sql, *args))
            return list(await self._get_pool().fetch(sql, *args))


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: the bridge sets no session
    state (no SET, LISTEN, cursors or session-level advisory locks; its locks end with the
    transaction). asyncpg's default reset is a round trip (RESET ALL, UNLISTEN *, ...) on
    every release, i.e. after every statement outside a transaction. A transaction left open
    is still rolled back by the pool before this runs."""


async def _quietly(call: Callable[[], Awaitable[Any]]) -> None:
    # Rolling back a broken connection fails too (asyncpg raises InterfaceError as soon as
    # `rollback()` is called, before there is anything to await); the original error is the
    # one worth raising: a StorageUnavailable must not turn into a 500.
    try:
        await call()
    except Exception:
        log.debug("rollback failed", exc_info=True)
