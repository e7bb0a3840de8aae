"""Repository fixtures: every repository test runs on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.state import SqlRepository, open_repository
from bridge.state.scratch import scratch_schema
from tests.fakes import FakeClock, OpenRepo

PG_URL_ENV = "BRIDGE_TEST_POSTGRES_URL"


def _postgres_url() -> str:
    url = os.environ.get(PG_URL_ENV, "")
    if not url:
        # Never skipped: the PostgreSQL backend is part of the contract (`make test` sets it).
        pytest.fail(f"{PG_URL_ENV} is not set; run `make test` or point it at a PostgreSQL")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema with a random name."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bridge.db'}"
        return
    async with scratch_schema(_postgres_url(), "bridge_test") as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema, for tests that only make sense with PostgreSQL (replicas)."""
    async with scratch_schema(_postgres_url(), "bridge_test") as url:
        yield url


@pytest.fixture
async def open_repo(database_url: str, clock: FakeClock) -> AsyncIterator[OpenRepo]:
    """Opens more repositories on the same database (stand-ins for more replicas/processes)."""
    opened: list[SqlRepository] = []

    async def _open() -> SqlRepository:
        repo = open_repository(database_url, clock=clock)
        await repo.start()
        opened.append(repo)
        await repo.migrate()
        return repo

    yield _open
    for repo in opened:
        await repo.close()


@pytest.fixture
async def repo(open_repo: OpenRepo) -> SqlRepository:
    """A started, migrated repository on a fresh database."""
    return await open_repo()
