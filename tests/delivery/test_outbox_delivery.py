"""The outbox through the real app: crash recovery, ordered retries, dead letters via admin API."""

from __future__ import annotations

import asyncio

from bridge.delivery.outbox import DEFAULT_LEASE_MS
from bridge.keys import INBOX, OUTBOX
from bridge.state.records import OutboxItem, OutboxStatus
from tests.delivery.conftest import ADMIN, Bridge, StartBridge
from tests.delivery.harness import RecordingReceiver, Reply, probe_key, wa_message, wait_until
from tests.fakes import FakeClock

LEASE_MS = DEFAULT_LEASE_MS


async def item_by_key(bridge: Bridge, dedupe_key: str) -> OutboxItem:
    item_id = await bridge.repo.database.fetchval(
        "SELECT id FROM outbox WHERE dedupe_key = $1", dedupe_key
    )
    assert item_id is not None, dedupe_key
    item = await bridge.repo.get_outbox_item(int(item_id))
    assert item is not None
    return item


async def contact_of(bridge: Bridge, phone: str) -> int:
    value = await bridge.repo.database.fetchval(
        "SELECT id FROM contacts WHERE wa_jid = $1", f"{phone}@s.whatsapp.net"
    )
    return int(value)


async def settled_after(bridge: Bridge, dedupe_key: str, attempts: int) -> bool:
    """The item was tried `attempts` times and the outcome is recorded (no longer inflight)."""
    item = await item_by_key(bridge, dedupe_key)
    return item.attempts == attempts and item.status is not OutboxStatus.INFLIGHT


async def post_all(bridge: Bridge, phone: str, wa_ids: list[str]) -> None:
    for wa_id in wa_ids:
        response = await bridge.post_evolution(wa_message("inst-demo", phone, wa_id))
        assert response.status == 200


async def test_worker_killed_after_the_call_redelivers_with_the_same_key(
    start_bridge: StartBridge, receiver: RecordingReceiver, clock: FakeClock
) -> None:
    first = await start_bridge()
    crashed: list[int] = []

    async def die_before_marking(item: OutboxItem) -> None:
        # The upstream accepted the call; the worker dies before it records that.
        crashed.append(item.id)
        raise asyncio.CancelledError

    first.sender.after_success = die_before_marking
    await post_all(first, "27820000001", ["K-1"])
    await wait_until(lambda: len(crashed) == 1, what="the call before the crash")
    key, later_key = probe_key("inst-demo:K-1"), probe_key("inst-demo:K-2")
    await post_all(first, "27820000001", ["K-2"])  # queued behind the unsettled item
    await first.app[INBOX].drain()
    stuck = await item_by_key(first, key)
    assert stuck.status is OutboxStatus.INFLIGHT
    assert stuck.attempts == 1
    assert await first.app[OUTBOX].drain() == 0  # its lease still runs: nobody may resend yet
    await first.client.close()  # the process is gone

    second = await start_bridge()  # restart on the same database
    if second.repo.dialect == "postgres":
        # Another replica may still be alive and holding it: wait out the lease.
        assert await second.app[OUTBOX].drain() == 0
        assert receiver.called_keys() == [key]
        clock.advance(LEASE_MS + 1)
        second.app[OUTBOX].wake()
    # (SQLite is one process: the restarted worker releases the dead one's leases at start-up.)
    await wait_until(lambda: later_key in receiver.effects, what="redelivery and the next item")

    redelivered = await item_by_key(second, key)
    assert redelivered.status is OutboxStatus.DELIVERED
    assert redelivered.attempts == 2
    assert redelivered.dedupe_key == stuck.dedupe_key
    assert receiver.called_keys() == [key, key, later_key]  # FIFO held across the crash
    assert [call["idempotency_key"] for call in receiver.calls] == [key, key, later_key]
    assert [call["item_id"] for call in receiver.calls[:2]] == [stuck.id, stuck.id]
    assert receiver.effects == {key: 0, later_key: 1}  # the receiver applied each key once
    assert await second.count("outbox") == 2


async def test_upstream_failures_then_recovery_keep_order_and_honour_retry_after(
    start_bridge: StartBridge, receiver: RecordingReceiver, clock: FakeClock
) -> None:
    bridge = await start_bridge()
    blocked = [probe_key(f"inst-demo:A{n}") for n in range(3)]
    free = [probe_key(f"inst-demo:B{n}") for n in range(2)]
    receiver.script(
        blocked[0], Reply(503, {"Retry-After": "120"}), Reply(502), Reply(429), Reply(500)
    )
    await post_all(bridge, "27820000001", ["A0", "A1", "A2"])
    await post_all(bridge, "27820000002", ["B0", "B1"])
    await wait_until(
        lambda: all(k in receiver.effects for k in free), what="the other contact's deliveries"
    )
    await wait_until(lambda: settled_after(bridge, blocked[0], 1), what="the first failure")
    await bridge.app[INBOX].drain()

    head = await item_by_key(bridge, blocked[0])
    assert head.status is OutboxStatus.PENDING
    assert head.attempts == 1
    assert head.available_at_ms - clock.now_ms() >= 120_000  # Retry-After: 120
    assert "503" in (head.last_error or "")
    for key in blocked[1:]:  # queued behind the failing head: never even tried
        assert (await item_by_key(bridge, key)).attempts == 0
    clock.ms = head.available_at_ms - 1
    assert await bridge.app[OUTBOX].drain() == 0  # not a moment before Retry-After

    for retry in range(1, 5):  # 502, 429, 500, then 200: each tried again after its backoff
        for key in blocked[1:]:
            assert key not in receiver.called_keys()
        clock.ms = (await item_by_key(bridge, blocked[0])).available_at_ms
        bridge.app[OUTBOX].wake()
        await wait_until(
            lambda n=retry + 1: settled_after(bridge, blocked[0], n), what=f"retry {retry}"
        )

    await wait_until(lambda: all(k in receiver.effects for k in blocked), what="recovery")
    contact_a = await contact_of(bridge, "27820000001")
    assert receiver.first_delivery_order(contact_a) == blocked
    assert [k for k in receiver.called_keys() if k in blocked] == [blocked[0]] * 5 + blocked[1:]
    assert [c["status"] for c in receiver.calls if c["dedupe_key"] == blocked[0]] == [
        503,
        502,
        429,
        500,
        200,
    ]
    assert (await item_by_key(bridge, blocked[0])).status is OutboxStatus.DELIVERED


async def test_permanent_failure_is_dead_lettered_and_retryable_through_the_admin_api(
    start_bridge: StartBridge, receiver: RecordingReceiver
) -> None:
    bridge = await start_bridge()
    poison, after = probe_key("inst-demo:C0"), probe_key("inst-demo:C1")
    receiver.script(poison, Reply(400))
    await post_all(bridge, "27820000003", ["C0", "C1"])
    # A dead item does not silence its contact: the next one goes out.
    await wait_until(lambda: after in receiver.effects, what="the item after the poison one")
    dead = await item_by_key(bridge, poison)
    assert dead.status is OutboxStatus.DEAD

    for headers in ({}, {"Authorization": "Bearer wrong-token-000000000"}):
        assert (await bridge.client.get("/api/dead-letters", headers=headers)).status == 401
        denied = await bridge.client.post(f"/api/dead-letters/{dead.id}/retry", headers=headers)
        assert denied.status == 401
    assert (await item_by_key(bridge, poison)).status is OutboxStatus.DEAD

    listed = await bridge.client.get("/api/dead-letters", headers=ADMIN)
    assert listed.status == 200
    letters = (await listed.json())["dead_letters"]
    assert [letter["dedupe_key"] for letter in letters] == [poison]
    assert letters[0]["id"] == dead.id
    assert letters[0]["attempts"] == 1
    assert "400" in letters[0]["last_error"]
    assert letters[0]["payload"]["external_id"] == "inst-demo:C0"

    for missing in ("999999", "abc", str(dead.id + 1)):
        response = await bridge.client.post(f"/api/dead-letters/{missing}/retry", headers=ADMIN)
        assert response.status == 404, missing

    retried = await bridge.client.post(f"/api/dead-letters/{dead.id}/retry", headers=ADMIN)
    assert retried.status == 200
    assert await retried.json() == {"ok": True, "id": dead.id, "status": "pending"}
    await wait_until(lambda: poison in receiver.effects, what="the retried delivery")
    delivered = await item_by_key(bridge, poison)
    assert delivered.status is OutboxStatus.DELIVERED
    assert [c["status"] for c in receiver.calls if c["dedupe_key"] == poison] == [400, 200]
    listed_again = await bridge.client.get("/api/dead-letters", headers=ADMIN)
    assert (await listed_again.json())["dead_letters"] == []
    again = await bridge.client.post(f"/api/dead-letters/{dead.id}/retry", headers=ADMIN)
    assert again.status == 404  # only dead items can be retried
