"""A prepared stack (simulators + setup) and a subprocess bridge for each reliability test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.reliability.live import BridgeProcess, PreparedStack, prepare_stack
from tests.reliability.traffic import Outside


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[PreparedStack]:
    prepared = await prepare_stack(tmp_path)
    try:
        yield prepared
    finally:
        await prepared.sims.aclose()


@pytest.fixture
async def bridge(stack: PreparedStack) -> AsyncIterator[BridgeProcess]:
    process = stack.process()
    await process.start()
    try:
        yield process
    finally:
        await process.kill()


@pytest.fixture
async def outside(stack: PreparedStack) -> AsyncIterator[Outside]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Outside(stack, http)
