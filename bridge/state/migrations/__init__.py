"""Numbered schema migrations, applied in order by `migrate(db)` (what `repo.migrate()` runs).

Adding a migration: create `vNNN_short_name.py` in this package, NNN being the last number + 1
(zero-padded to three digits; numbers must be contiguous, which is checked at import), with a
one-line docstring and

    async def upgrade(db: Database, dialect: Dialect) -> None:
        await db.execute("CREATE TABLE ...")

`db.execute` takes `$n` placeholders on both backends. Branch on `dialect` ("sqlite" or
"postgres") only where the SQL really differs; `bridge.state.sql.id_column(dialect)` gives an
auto-increment primary key. Conventions: BIGINT epoch milliseconds, TEXT for JSON, BOOLEAN flags,
no server-side defaults for time. Each upgrade runs in its own transaction together with the
version bump, under a lock (PostgreSQL advisory lock: several replicas may start at once).
Never edit a migration that has been released; add a new one.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from bridge.errors import UnsupportedDatabaseVersion
from bridge.state.database import Database, Dialect

VERSION_TABLE: Final = "bridge_schema_version"
_MODULE_NAME = re.compile(r"^v(\d{3})_\w+$")

Upgrade = Callable[[Database, Dialect], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    description: str
    upgrade: Upgrade


def _discover() -> tuple[Migration, ...]:
    found: list[Migration] = []
    for info in pkgutil.iter_modules(__path__):
        match = _MODULE_NAME.match(info.name)
        if match is None:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        doc = (module.__doc__ or info.name).strip().splitlines()[0]
        found.append(Migration(int(match.group(1)), info.name, doc, module.upgrade))
    found.sort(key=lambda m: m.version)
    numbers = [m.version for m in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration numbers must be 1..N without gaps, found {numbers}")
    return tuple(found)


MIGRATIONS: Final = _discover()
LATEST_VERSION: Final = len(MIGRATIONS)


async def schema_version(db: Database) -> int:
    """Version recorded in the database (0 for an empty database)."""
    async with db.transaction(lock="schema-migrations"):
        return await _current_version(db)


async def _current_version(db: Database) -> int:
    await db.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)")
    version = await db.fetchval(f"SELECT MAX(version) FROM {VERSION_TABLE}")  # noqa: S608
    if version is None:
        await db.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (0)")  # noqa: S608
        return 0
    return int(version)


async def migrate(db: Database) -> int:
    """Apply pending migrations one transaction each; returns the resulting version.

    Raises UnsupportedDatabaseVersion when the database was migrated by newer code.
    """
    while True:
        async with db.transaction(lock="schema-migrations"):
            current = await _current_version(db)
            if current > LATEST_VERSION:
                raise UnsupportedDatabaseVersion(
                    f"the database schema is at version {current} but this bridge only knows "
                    f"migrations up to {LATEST_VERSION}; run a newer bridge release (downgrading "
                    "the schema is not supported)"
                )
            if current == LATEST_VERSION:
                return current
            step = MIGRATIONS[current]
            await step.upgrade(db, db.dialect)
            await db.execute(f"UPDATE {VERSION_TABLE} SET version = $1", step.version)  # noqa: S608
