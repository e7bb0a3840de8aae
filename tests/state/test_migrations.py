"""Migrations, backend selection by URL, and storage errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.errors import ConfigError, StorageUnavailable, UnsupportedDatabaseVersion
from bridge.state import LATEST_VERSION, SqlRepository, open_repository, schema_version
from bridge.state.migrations import MIGRATIONS, VERSION_TABLE
from bridge.state.postgres import PostgresDatabase, redact
from bridge.state.sqlite import SqliteDatabase, sqlite_path
from tests.fakes import OpenRepo

TABLES = (
    "contacts",
    "contact_aliases",
    "transcripts",
    "message_links",
    "transitions",
    "inbound_event",
    "outbox",
)


def test_migrations_are_numbered_without_gaps() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert MIGRATIONS[0].name == "v001_initial"
    assert all(m.description for m in MIGRATIONS)


async def test_migrate_from_empty_creates_every_table(database_url: str) -> None:
    repo = open_repository(database_url)
    async with repo:
        assert await schema_version(repo.database) == 0
        assert await repo.migrate() == LATEST_VERSION
        for table in TABLES:
            assert await repo.database.fetchval(f"SELECT COUNT(*) FROM {table}") == 0
        assert await repo.migrate() == LATEST_VERSION  # idempotent
        assert await schema_version(repo.database) == LATEST_VERSION


async def test_replicas_may_migrate_at_the_same_time(database_url: str) -> None:
    repos = [open_repository(database_url) for _ in range(3)]
    for repo in repos:
        await repo.start()
    try:
        versions = await asyncio.gather(*(repo.migrate() for repo in repos))
        assert versions == [LATEST_VERSION] * 3
        rows = await repos[0].database.fetchval(f"SELECT COUNT(*) FROM {VERSION_TABLE}")
        assert rows == 1
    finally:
        for repo in repos:
            await repo.close()


async def test_newer_database_is_refused(repo: SqlRepository, open_repo: OpenRepo) -> None:
    await repo.database.execute(f"UPDATE {VERSION_TABLE} SET version = 999")
    with pytest.raises(UnsupportedDatabaseVersion, match="999"):
        await repo.migrate()
    with pytest.raises(UnsupportedDatabaseVersion, match=f"up to {LATEST_VERSION}"):
        await open_repo()


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/bridge.db", "data/bridge.db"),
        ("sqlite:////var/lib/bridge.db", "/var/lib/bridge.db"),
        ("sqlite://:memory:", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
    ],
)
def test_sqlite_url_paths(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize("url", ["sqlite:", "sqlite://", "sqlite:///", "sqlite:relative.db"])
def test_bad_sqlite_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="BRIDGE_DATABASE_URL"):
        open_repository(url)


@pytest.mark.parametrize("url", ["mysql://x/y", "redis://localhost", "data/bridge.db"])
def test_unknown_scheme_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="unsupported scheme"):
        open_repository(url)


@pytest.mark.parametrize("url", ["postgresql://u:p@db/x", "postgres://u@db:5433/x"])
def test_postgres_urls_select_postgres(url: str) -> None:
    repo = open_repository(url)
    assert isinstance(repo.database, PostgresDatabase)
    assert repo.dialect == "postgres"


def test_password_is_redacted_for_logs() -> None:
    assert redact("postgresql://bridge:s3cret@db:5432/x") == "postgresql://bridge:***@db:5432/x"
    assert redact("postgresql://bridge@db/x") == "postgresql://bridge@db/x"


async def test_relative_sqlite_path_creates_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    repo = open_repository("sqlite:///data/nested/bridge.db")
    assert isinstance(repo.database, SqliteDatabase)
    async with repo:
        assert await repo.migrate() == LATEST_VERSION
        await repo.ping()
    assert (tmp_path / "data" / "nested" / "bridge.db").is_file()


async def test_in_memory_sqlite_works() -> None:
    async with open_repository("sqlite://:memory:") as repo:
        assert await repo.migrate() == LATEST_VERSION
        await repo.ping()


async def test_unopenable_sqlite_is_storage_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    repo = open_repository(f"sqlite:///{blocker}/bridge.db")
    with pytest.raises(StorageUnavailable):
        await repo.start()


async def test_unreachable_postgres_is_storage_unavailable() -> None:
    repo = open_repository("postgresql://bridge@127.0.0.1:1/bridge")
    with pytest.raises(StorageUnavailable, match="PostgreSQL unavailable"):
        await repo.start()


async def test_closed_repository_is_storage_unavailable(repo: SqlRepository) -> None:
    await repo.ping()
    await repo.close()
    with pytest.raises(StorageUnavailable):
        await repo.ping()
    with pytest.raises(StorageUnavailable):
        async with repo.transaction(lock=1):
            pass
