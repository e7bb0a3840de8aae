"""One subprocess bridge per security module (starting one per test would dominate the run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.target import Target, start_target


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    running = start_target(tmp_path_factory.mktemp("bridge"))
    try:
        yield running
    finally:
        running.stop()
        running.upstream.stop()
