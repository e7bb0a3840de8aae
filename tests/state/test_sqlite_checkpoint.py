"""WAL checkpoints run off the event loop and follow every write, in a transaction or not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.state import sqlite_checkpoint
from bridge.state.sqlite import SqliteDatabase


async def test_autocommit_writes_reach_the_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_checkpoint, "CHECKPOINT_INTERVAL_S", 0.05)
    path = tmp_path / "c.db"
    db = SqliteDatabase(str(path))
    await db.start()
    try:
        await db.execute("CREATE TABLE t (body TEXT NOT NULL)")
        await asyncio.sleep(0.3)
        before = path.stat().st_size
        for _ in range(200):  # autocommit statements, no db.transaction()
            await db.execute("INSERT INTO t (body) VALUES ($1)", "x" * 2000)
        for _ in range(40):
            await asyncio.sleep(0.05)
            if path.stat().st_size > before + 200 * 2000:
                break
        assert path.stat().st_size > before + 200 * 2000  # copied out of the WAL
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 200
    finally:
        await db.close()
