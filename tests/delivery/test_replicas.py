"""Two app instances on one PostgreSQL database share a backlog: nothing twice, order kept."""

from __future__ import annotations

from collections import Counter

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bridge.ids import InstanceName, WaJid
from bridge.keys import INBOX, REPOSITORY
from bridge.state.records import InboundEvent, OutboxItem
from bridge.state.repository import open_repository
from tests.delivery.conftest import AiohttpClient, build_bridge_app
from tests.delivery.harness import PROBE_KIND, WA_KIND, RecordingReceiver, probe_key, wait_until
from tests.fakes import FakeClock

CONTACTS = 12
EVENTS = 8
DIRECT = 4


@pytest.mark.postgres
async def test_two_instances_share_a_backlog_without_doubles(
    postgres_url: str,
    receiver: RecordingReceiver,
    receiver_url: str,
    aiohttp_client: AiohttpClient,
) -> None:
    clock = FakeClock()
    # The backlog exists before either instance starts: stored events and queued calls.
    seed = open_repository(postgres_url, clock=clock)
    await seed.start()
    await seed.migrate()
    expected: dict[int, list[str]] = {}
    events: dict[int, list[str]] = {}
    try:
        for c in range(CONTACTS):
            contact = await seed.resolve_contact(
                InstanceName("inst-demo"), WaJid(f"2784{c:07d}@s.whatsapp.net"), None
            )
            direct = [f"direct:{c}:{n}" for n in range(DIRECT)]
            for key in direct:
                await seed.enqueue(OutboxItem(PROBE_KIND, key, {"n": key}, contact.id))
            events[contact.id] = [f"inst-demo:REP-{c}-{n}" for n in range(EVENTS)]
            for external_id in events[contact.id]:
                await seed.record_inbound(
                    InboundEvent("evolution", external_id, WA_KIND, {}, contact.id)
                )
            expected[contact.id] = direct + [probe_key(e) for e in events[contact.id]]
    finally:
        await seed.close()

    receiver.delay_s = 0.002  # calls overlap, so both instances have work in flight at once
    clients: list[TestClient[web.Request, web.Application]] = []
    for label in ("replica-a", "replica-b"):
        app, _ = build_bridge_app(postgres_url, clock, receiver_url, label)
        clients.append(await aiohttp_client(app))
    every_key = {key for keys in expected.values() for key in keys}
    await wait_until(
        lambda: every_key <= receiver.effects.keys(), timeout_s=30, what="the whole backlog"
    )
    for client in clients:
        await client.app[INBOX].drain()

    async def settled() -> bool:  # the receiver answers before the worker records it
        repo = clients[0].app[REPOSITORY]
        return (await repo.outbox_stats(clock.now_ms())).pending == 0

    await wait_until(settled, what="every item to be marked delivered")

    calls = Counter(receiver.called_keys())
    assert set(calls) == every_key
    assert max(calls.values()) == 1  # no item handled twice
    for contact_id, keys in expected.items():
        assert receiver.first_delivery_order(contact_id) == keys, contact_id

    check = open_repository(postgres_url, clock=clock)
    await check.start()
    try:
        for contact_id, external_ids in events.items():
            transcript = await check.list_transcript(contact_id)
            assert [t.body for t in transcript] == external_ids  # processed once, in order
        db = check.database
        assert await db.fetchval("SELECT COUNT(*) FROM outbox WHERE status <> 'delivered'") == 0
        assert await db.fetchval("SELECT MAX(attempts) FROM outbox") == 1
        assert (
            await db.fetchval("SELECT COUNT(*) FROM inbound_event WHERE status <> 'processed'") == 0
        )
    finally:
        await check.close()
