"""Concurrent SQLite transactions share one COMMIT, and nobody hears "done" before it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.errors import StorageUnavailable
from bridge.state.sqlite import SqliteDatabase


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = SqliteDatabase(str(tmp_path / "g.db"))
    await database.start()
    await database.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    await database.execute(
        "CREATE TABLE t (body TEXT NOT NULL, parent_id INTEGER REFERENCES parent (id) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )
    yield database
    await database.close()


def _durable_bodies(db: SqliteDatabase) -> list[str]:
    """What another connection sees: only what is committed."""
    other = sqlite3.connect(db.path)
    try:
        return sorted(row[0] for row in other.execute("SELECT body FROM t"))
    finally:
        other.close()


async def test_ready_transactions_share_a_commit_and_each_returns_committed(
    db: SqliteDatabase,
) -> None:
    seen_at_return: dict[str, bool] = {}

    async def member(name: str) -> None:
        async with db.transaction(lock=name):
            await db.execute("INSERT INTO t (body) VALUES ($1)", name)
        seen_at_return[name] = name in _durable_bodies(db)

    commits_before = db._groups.commits
    names = [f"m{n:02d}" for n in range(20)]
    await asyncio.gather(*(member(n) for n in names))
    assert seen_at_return == dict.fromkeys(names, True)
    assert _durable_bodies(db) == names
    assert db._groups.commits - commits_before < len(names)  # grouped: fewer commits than members
    assert db._groups.committed_members >= len(names)


async def test_a_failing_member_rolls_back_alone(db: SqliteDatabase) -> None:
    async def failing() -> None:
        async with db.transaction(lock="bad"):
            await db.execute("INSERT INTO t (body) VALUES ('bad')")
            raise RuntimeError("flow failed")

    async def fine(body: str) -> None:
        async with db.transaction(lock=body):
            await db.execute("INSERT INTO t (body) VALUES ($1)", body)

    results = await asyncio.gather(fine("a"), failing(), fine("b"), return_exceptions=True)
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], RuntimeError)
    assert _durable_bodies(db) == ["a", "b"]


async def test_a_failed_commit_reaches_every_member_and_the_next_group_works(
    db: SqliteDatabase,
) -> None:
    async def member(body: str, parent_id: int | None) -> None:
        async with db.transaction(lock=body):
            await db.execute("INSERT INTO t (body, parent_id) VALUES ($1, $2)", body, parent_id)

    # The orphan breaks the deferred foreign key, which only COMMIT checks: the whole group
    # fails, the innocent member included, and is told so; nothing of it is stored.
    results = await asyncio.gather(
        member("innocent", None), member("orphan", 999), return_exceptions=True
    )
    assert all(isinstance(r, StorageUnavailable) for r in results), results
    assert _durable_bodies(db) == []
    await member("after", None)
    assert _durable_bodies(db) == ["after"]


async def test_a_statement_outside_a_transaction_waits_for_the_open_group(
    db: SqliteDatabase,
) -> None:
    async def in_transaction() -> None:
        async with db.transaction(lock="x"):
            await db.execute("INSERT INTO t (body) VALUES ('in-txn')")

    async def autocommit() -> bool:
        await asyncio.sleep(0)  # runs while the group above is open, before its COMMIT
        await db.execute("INSERT INTO t (body) VALUES ('autocommit')")
        return "autocommit" in _durable_bodies(db)

    _, durable_at_return = await asyncio.gather(in_transaction(), autocommit())
    assert durable_at_return
    assert _durable_bodies(db) == ["autocommit", "in-txn"]


async def test_close_commits_the_open_group(tmp_path: Path) -> None:
    db = SqliteDatabase(str(tmp_path / "c.db"))
    await db.start()
    await db.execute("CREATE TABLE t (body TEXT NOT NULL, parent_id INTEGER)")

    async def member() -> None:
        async with db.transaction(lock="late"):
            await db.execute("INSERT INTO t (body) VALUES ('late')")

    task = asyncio.create_task(member())
    await asyncio.sleep(0)
    await db.close()
    await task
    assert _durable_bodies(db) == ["late"]


async def test_a_read_outside_a_transaction_waits_for_the_open_group(db: SqliteDatabase) -> None:
    async def in_transaction() -> None:
        async with db.transaction(lock="x"):
            await db.execute("INSERT INTO t (body) VALUES ('unseen-yet')")

    async def reader() -> bool:
        await asyncio.sleep(0)
        rows = await db.fetch("SELECT body FROM t")  # sees the open group's row...
        assert [row["body"] for row in rows] == ["unseen-yet"]
        return "unseen-yet" in _durable_bodies(db)  # ...and returns only once it is committed

    _, durable_at_return = await asyncio.gather(in_transaction(), reader())
    assert durable_at_return


async def test_a_cancelled_commit_task_still_settles_its_group(db: SqliteDatabase) -> None:
    async def member() -> None:
        async with db.transaction(lock="m"):
            await db.execute("INSERT INTO t (body) VALUES ('kept')")

    task = asyncio.create_task(member())
    for _ in range(3):
        await asyncio.sleep(0)
        for commit in list(db._groups._tasks):
            commit.cancel()  # e.g. a shutdown cancelling every task
    await asyncio.wait_for(task, timeout=2.0)
    assert _durable_bodies(db) == ["kept"]


async def test_when_sqlite_ends_the_transaction_itself_members_fail_and_others_go_on(
    db: SqliteDatabase,
) -> None:
    """SQLite rolls the whole transaction back on its own after some errors (disk full, I/O):
    the group's members must hear of it, and nothing may silently autocommit in its place."""
    proceed = asyncio.Event()

    async def done_member() -> None:
        async with db.transaction(lock="done"):
            await db.execute("INSERT INTO t (body) VALUES ('lost-with-the-group')")

    async def slow_member() -> None:
        async with db.transaction(lock="slow"):
            await db.execute("INSERT INTO t (body) VALUES ('slow')")
            await proceed.wait()
            await db.execute("INSERT INTO t (body) VALUES ('after-the-rollback')")

    done = asyncio.create_task(done_member())  # joins first, and waits for the COMMIT
    slow = asyncio.create_task(slow_member())  # joins the same group, holds the connection
    await asyncio.sleep(0.05)
    assert db._conn is not None
    db._conn.rollback()  # what SQLite does by itself after SQLITE_FULL or an I/O error
    proceed.set()
    results = await asyncio.gather(slow, done, return_exceptions=True)
    assert all(isinstance(r, StorageUnavailable) for r in results), results
    await db.execute("INSERT INTO t (body) VALUES ('autocommit-after')")  # not told "failed"
    assert _durable_bodies(db) == ["autocommit-after"]


async def test_no_new_group_once_closing(db: SqliteDatabase) -> None:
    await db._groups.drain()
    with pytest.raises(StorageUnavailable, match="closing"):
        async with db.transaction(lock="late"):
            pass


async def test_a_member_told_it_failed_at_release_leaves_nothing(
    db: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = db._run
    failed_once: list[bool] = []

    async def flaky_release(conn: sqlite3.Connection, sql: str, args: tuple[object, ...]) -> int:
        if sql == "RELEASE member" and not failed_once:
            failed_once.append(True)
            raise StorageUnavailable("disk I/O error")
        return await run(conn, sql, args)

    monkeypatch.setattr(db, "_run", flaky_release)

    async def member(body: str) -> None:
        async with db.transaction(lock=body):
            await db.execute("INSERT INTO t (body) VALUES ($1)", body)

    results = await asyncio.gather(member("told-failed"), member("fine"), return_exceptions=True)
    assert isinstance(results[0], StorageUnavailable)
    assert results[1] is None
    assert _durable_bodies(db) == ["fine"]
