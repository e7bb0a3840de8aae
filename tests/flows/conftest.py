"""The live stack (simulators + setup + bridge) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bridge.demo.stack import start_stack
from tests.flows.harness import World


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    db_url = None if database_url.startswith("sqlite") else database_url
    stack = await start_stack(tmp_path, database_url=db_url)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            yield World(stack, http)
    finally:
        await stack.aclose()
