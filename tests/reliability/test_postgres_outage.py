"""PostgreSQL briefly unreachable: webhooks answered 503 (never 500, never a hang), then recovery.

A TCP proxy in the test process stands between the bridge subprocess and PostgreSQL; taking it
down refuses new connections and cuts the pooled ones. Meanwhile `/readyz` names storage; once
it is back, Evolution's retry is stored and everything acknowledged reaches Chatwoot once, in
order, with nothing dead-lettered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from bridge.errors import StorageUnavailable
from bridge.state.repository import open_repository
from tests.fakes import FakeClock
from tests.reliability.burst import AGENT, ContactPlan, bring_into_states, send_until_answered
from tests.reliability.checks import assert_exactly_once_in_order, wait_drained
from tests.reliability.live import BridgeProcess, PreparedStack, prepare_stack
from tests.reliability.tcp_proxy import TcpProxy
from tests.reliability.traffic import Outside, eventually

# Evolution gives up on a delivery after ~30 s; the bridge must have answered well before.
ANSWER_DEADLINE_S = 15.0
OUTAGE_S = 3.0


def _via_proxy(database_url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(database_url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
async def pg_proxy(database_url: str) -> AsyncIterator[TcpProxy]:
    target = urlsplit(database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.up()
    try:
        yield proxy
    finally:
        await proxy.down()


@pytest.fixture
async def stack(
    database_url: str, pg_proxy: TcpProxy, tmp_path: Path
) -> AsyncIterator[PreparedStack]:
    """The conftest's stack, with the bridge reaching PostgreSQL through the proxy; the
    conftest's `bridge` and `outside` fixtures build on it."""
    prepared = await prepare_stack(tmp_path, database_url=_via_proxy(database_url, pg_proxy))
    try:
        yield prepared
    finally:
        await prepared.sims.aclose()


async def _post_within_deadline(outside: Outside, body: dict[str, Any]) -> int:
    try:
        async with asyncio.timeout(ANSWER_DEADLINE_S):
            return await outside.post_evolution(body)
    except TimeoutError:
        raise AssertionError(f"no answer within {ANSWER_DEADLINE_S:g} s") from None


async def _customer_lines(outside: Outside, plans: list[ContactPlan], tag: str, n: int) -> None:
    for plan in plans:
        for k in range(n):
            text = f"m:{plan.index}:{tag}{k}"
            await send_until_answered(outside, plan, text)
            plan.customer.append(text)


# PostgreSQL only (the outage is a network cut between the service and its database server).
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_postgres_unreachable_answers_503_then_recovers(
    pg_proxy: TcpProxy, bridge: BridgeProcess, outside: Outside
) -> None:
    plans = [ContactPlan(i, f"27860{i:05d}", AGENT) for i in range(2)]
    await bring_into_states(outside, plans)
    await _customer_lines(outside, plans, "before", 1)
    # Cut while idle: an outbox claim whose answer is lost to the cut leaves its items leased
    # until the lease (90 s) expires, which is longer than this test waits. (A call whose outcome
    # cannot be recorded during the cut keeps retrying the record: OutboxWorker._settle.)
    await wait_drained(outside, plans, timeout_s=30)
    await pg_proxy.down()
    bodies: list[dict[str, Any]] = []
    for plan in plans:
        body = outside.upsert_body(plan.phone, f"m:{plan.index}:cut", plan.wa_id())
        assert await _post_within_deadline(outside, body) == 503
        bodies.append(body)
    ready_status, ready = await outside.readyz()
    assert ready_status == 503
    assert not ready["checks"]["storage"]["ok"]
    assert "PostgreSQL" in ready["checks"]["storage"]["detail"]
    # Still refused on a second attempt while the outage lasts (nothing half-stored).
    await asyncio.sleep(OUTAGE_S)
    assert await _post_within_deadline(outside, bodies[0]) == 503
    await pg_proxy.up()

    # Evolution retries the refused deliveries; now they are stored and delivered once.
    for plan, body in zip(plans, bodies, strict=True):
        assert await _post_within_deadline(outside, body) == 200
        plan.customer.append(f"m:{plan.index}:cut")
    await _customer_lines(outside, plans, "after", 2)

    async def storage_ok() -> bool:
        _, body = await outside.readyz()
        return bool(body["checks"]["storage"]["ok"])

    await eventually(storage_ok, timeout_s=ANSWER_DEADLINE_S, what="/readyz storage ok again")
    await wait_drained(outside, plans, timeout_s=30)
    await assert_exactly_once_in_order(outside, plans)
    assert await outside.dead_letters() == []
    assert bridge.alive


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_connection_cut_inside_a_transaction_is_storage_unavailable(
    database_url: str, pg_proxy: TcpProxy
) -> None:
    repo = open_repository(_via_proxy(database_url, pg_proxy), clock=FakeClock())
    db = repo.database

    async def cut_midway() -> None:
        async with db.transaction(lock=1):
            assert await db.fetchval("SELECT 1") == 1
            await pg_proxy.down()
            await db.fetchval("SELECT 1")

    await repo.start()
    try:
        await repo.migrate()
        # The rollback of the broken connection fails too; the caller must still see
        # StorageUnavailable (a 503), not asyncpg's InterfaceError (a 500).
        with pytest.raises(StorageUnavailable):
            await cut_midway()
        with pytest.raises(StorageUnavailable):
            await repo.ping()
        await pg_proxy.up()
        await repo.ping()  # the pool reconnects once the database is reachable again
    finally:
        await repo.close()
