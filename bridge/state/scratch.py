"""A throwaway PostgreSQL schema: the same database, an empty namespace, dropped afterwards.

Used by the test suite and the benchmark, so every run starts from an empty schema without
needing CREATE DATABASE rights.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def scratch_schema(base_url: str, prefix: str = "bridge_scratch") -> AsyncIterator[str]:
    """Yields `base_url` with `search_path` set to a new schema (asyncpg imported lazily)."""
    import asyncpg

    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(base_url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}search_path={schema}"
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()
