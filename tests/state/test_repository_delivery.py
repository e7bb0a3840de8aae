"""Repository contract, delivery side: inbound dedupe, outbox claims, leases, dead letters."""

from __future__ import annotations

import asyncio

from bridge.ids import InstanceName, WaJid
from bridge.state import InboundEvent, InboundStatus, OutboxItem, OutboxStatus, SqlRepository
from tests.fakes import FakeClock, OpenRepo

INSTANCE = InstanceName("main")


async def _contact_id(repo: SqlRepository, n: int) -> int:
    contact = await repo.resolve_contact(INSTANCE, WaJid(f"2782000000{n}@s.whatsapp.net"), None)
    return contact.id


def _item(key: str, contact_id: int | None = None) -> OutboxItem:
    return OutboxItem("evolution.send_text", key, {"text": key, "n": 1}, contact_id)


async def test_inbound_dedupe_and_fifo(repo: SqlRepository) -> None:
    cid = await _contact_id(repo, 1)
    first = InboundEvent("evolution", "MSG1", "evolution.messages.upsert", {"a": "é"}, cid)
    assert await repo.record_inbound(first) is True
    assert first.id > 0
    duplicate = InboundEvent("evolution", "MSG1", "evolution.messages.upsert", {"a": 2}, cid)
    assert await repo.record_inbound(duplicate) is False
    assert await repo.record_inbound(InboundEvent("chatwoot", "MSG1", "x", {}, cid)) is True
    nxt = await repo.next_inbound(cid)
    assert nxt is not None
    assert nxt.id == first.id
    assert nxt.payload == {"a": "é"}
    stored = await repo.find_inbound("evolution", "MSG1")
    assert stored is not None
    assert stored.status is InboundStatus.PENDING
    await repo.mark_processed(first.id)
    nxt = await repo.next_inbound(cid)
    assert nxt is not None
    assert nxt.source == "chatwoot"
    done = await repo.get_inbound(first.id)
    assert done is not None
    assert done.status is InboundStatus.PROCESSED
    assert done.processed_at_ms is not None


async def test_pending_contacts_oldest_first_and_contactless(repo: SqlRepository) -> None:
    one, two = await _contact_id(repo, 1), await _contact_id(repo, 2)
    await repo.record_inbound(InboundEvent("evolution", "a", "k", {}, two))
    await repo.record_inbound(InboundEvent("evolution", "b", "k", {}, one))
    loose = InboundEvent("evolution", "c", "evolution.connection.update", {}, None)
    await repo.record_inbound(loose)
    assert await repo.pending_inbound_contacts(10) == [two, one, None]
    assert await repo.pending_inbound_contacts(1) == [two]
    found = await repo.next_inbound(None)
    assert found is not None
    assert found.id == loose.id
    assert await repo.has_pending_inbound(None)
    await repo.assign_inbound(loose.id, one)
    assert await repo.next_inbound(None) is None
    assert not await repo.has_pending_inbound(None)
    assert await repo.pending_inbound_contacts(10) == [two, one]
    first = await repo.next_inbound(two)
    assert first is not None
    assert await repo.has_pending_inbound(two)
    await repo.mark_processed(first.id)
    assert not await repo.has_pending_inbound(two)
    assert await repo.has_pending_inbound(one)


async def test_inbound_failure_goes_dead_after_max_attempts(repo: SqlRepository) -> None:
    cid = await _contact_id(repo, 1)
    poison = InboundEvent("evolution", "p", "k", {}, cid)
    healthy = InboundEvent("evolution", "h", "k", {}, cid)
    await repo.record_inbound(poison)
    await repo.record_inbound(healthy)
    assert await repo.mark_inbound_failed(poison.id, "boom 1", max_attempts=3) is False
    assert await repo.mark_inbound_failed(poison.id, "boom 2", max_attempts=3) is False
    nxt = await repo.next_inbound(cid)
    assert nxt is not None
    assert nxt.id == poison.id
    assert nxt.attempts == 2
    assert nxt.error == "boom 2"
    assert await repo.mark_inbound_failed(poison.id, "boom 3", max_attempts=3) is True
    nxt = await repo.next_inbound(cid)  # the dead one no longer blocks the contact
    assert nxt is not None
    assert nxt.id == healthy.id
    (dead,) = await repo.list_dead_inbound(10)
    assert (dead.id, dead.status, dead.attempts) == (poison.id, InboundStatus.DEAD, 3)


async def test_outbox_dedupe_key(repo: SqlRepository) -> None:
    first = _item("chatwoot.create_message:WA1")
    assert await repo.enqueue(first) is True
    assert first.id > 0
    assert await repo.enqueue(_item("chatwoot.create_message:WA1")) is False
    stats = await repo.outbox_stats(first.created_at_ms + 250)
    assert stats == (1, 250)


async def test_claim_due_is_fifo_per_contact(repo: SqlRepository, clock: FakeClock) -> None:
    one, two = await _contact_id(repo, 1), await _contact_id(repo, 2)
    for key, contact in (("1a", one), ("2a", two), ("1b", one), ("x", None), ("y", None)):
        assert await repo.enqueue(_item(key, contact))
        clock.advance(1)
    now = clock.now_ms()
    claimed = await repo.claim_due(now, 10, 30_000, "w1")
    assert [i.dedupe_key for i in claimed] == ["1a", "2a", "x", "y"]
    assert all(i.status is OutboxStatus.INFLIGHT and i.attempts == 1 for i in claimed)
    assert all(i.lease_owner == "w1" and i.leased_until_ms == now + 30_000 for i in claimed)
    assert await repo.claim_due(now, 10, 30_000, "w1") == []  # 1b waits behind inflight 1a
    assert await repo.mark_delivered(claimed[0].id, result={"id": 5}) is True
    (nxt,) = await repo.claim_due(now, 10, 30_000, "w1")
    assert nxt.dedupe_key == "1b"
    delivered = await repo.get_outbox_item(claimed[0].id)
    assert delivered is not None
    assert delivered.status is OutboxStatus.DELIVERED
    assert delivered.result == {"id": 5}
    assert delivered.delivered_at_ms == now


async def test_reschedule_keeps_fifo_and_waits(repo: SqlRepository, clock: FakeClock) -> None:
    cid = await _contact_id(repo, 1)
    await repo.enqueue(_item("first", cid))
    await repo.enqueue(_item("second", cid))
    (first,) = await repo.claim_due(clock.now_ms(), 10, 1000, "w")
    await repo.reschedule(first.id, clock.now_ms() + 5000, "HTTP 503")
    assert await repo.claim_due(clock.now_ms() + 4999, 10, 1000, "w") == []
    (again,) = await repo.claim_due(clock.now_ms() + 5000, 10, 1000, "w")
    assert (again.id, again.attempts, again.last_error) == (first.id, 2, "HTTP 503")


async def test_expired_lease_is_reclaimed(repo: SqlRepository, clock: FakeClock) -> None:
    cid = await _contact_id(repo, 1)
    await repo.enqueue(_item("only", cid))
    (item,) = await repo.claim_due(clock.now_ms(), 10, 1000, "crashed-worker")
    assert await repo.claim_due(clock.now_ms() + 999, 10, 1000, "w2") == []
    (again,) = await repo.claim_due(clock.now_ms() + 1000, 10, 1000, "w2")
    assert (again.id, again.lease_owner, again.attempts) == (item.id, "w2", 2)


async def test_mark_delivered_stores_follow_up_atomically(repo: SqlRepository) -> None:
    cid = await _contact_id(repo, 1)
    await repo.enqueue(_item("send", cid))
    (item,) = await repo.claim_due(10**15, 1, 1000, "w")
    follow_up = InboundEvent("outbox", f"delivered:{item.id}", "evolution.sent", {"k": 1}, cid)
    assert await repo.mark_delivered(item.id, follow_up) is True
    stored = await repo.find_inbound("outbox", f"delivered:{item.id}")
    assert stored is not None
    assert stored.payload == {"k": 1}
    # A second delivery report (lease expired, other worker) changes nothing, adds nothing.
    other = InboundEvent("outbox", "another", "evolution.sent", {}, cid)
    assert await repo.mark_delivered(item.id, other) is False
    assert await repo.find_inbound("outbox", "another") is None


async def test_mark_delivered_rolls_back_with_its_transaction(repo: SqlRepository) -> None:
    await repo.enqueue(_item("send"))
    (item,) = await repo.claim_due(10**15, 1, 1000, "w")
    follow_up = InboundEvent("outbox", "f", "k", {}, None)
    try:
        async with repo.transaction():
            await repo.mark_delivered(item.id, follow_up)
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    reloaded = await repo.get_outbox_item(item.id)
    assert reloaded is not None
    assert reloaded.status is OutboxStatus.INFLIGHT
    assert await repo.find_inbound("outbox", "f") is None


async def test_dead_letters_skip_fifo_and_requeue(repo: SqlRepository, clock: FakeClock) -> None:
    cid = await _contact_id(repo, 1)
    await repo.enqueue(_item("poison", cid))
    await repo.enqueue(_item("next", cid))
    (poison,) = await repo.claim_due(clock.now_ms(), 10, 1000, "w")
    await repo.mark_dead(poison.id, "HTTP 400 bad number")
    (nxt,) = await repo.claim_due(clock.now_ms(), 10, 1000, "w")
    assert nxt.dedupe_key == "next"  # a dead item does not block its contact
    (letter,) = await repo.list_dead_letters(10)
    assert (letter.id, letter.last_error, letter.attempts) == (poison.id, "HTTP 400 bad number", 1)
    assert letter.payload == {"text": "poison", "n": 1}
    assert letter.contact_id == cid
    await repo.mark_delivered(nxt.id)
    assert await repo.requeue_dead(poison.id) is True
    assert await repo.requeue_dead(poison.id) is False
    assert await repo.requeue_dead(nxt.id) is False
    assert await repo.list_dead_letters(10) == []
    (retried,) = await repo.claim_due(clock.now_ms(), 10, 1000, "w")
    assert (retried.id, retried.attempts) == (poison.id, 1)


async def test_outbox_stats_counts_open_items(repo: SqlRepository, clock: FakeClock) -> None:
    assert await repo.outbox_stats(clock.now_ms()) == (0, 0)
    await repo.enqueue(_item("a"))
    clock.advance(100)
    await repo.enqueue(_item("b"))
    await repo.enqueue(_item("c"))
    (a, _, _) = await repo.claim_due(clock.now_ms(), 10, 1000, "w")
    await repo.mark_delivered(a.id)
    assert await repo.outbox_stats(clock.now_ms() + 50) == (2, 50)


async def test_two_repositories_never_claim_the_same_item(
    repo: SqlRepository, open_repo: OpenRepo, clock: FakeClock
) -> None:
    other = await open_repo()  # a second pool/connection: another replica
    contacts = [await _contact_id(repo, n) for n in range(5)]
    for n in range(200):
        await repo.enqueue(_item(f"k{n}", contacts[n % 5] if n % 2 else None))
    claimed: list[int] = []
    order: dict[int | None, list[int]] = {}

    async def worker(r: SqlRepository, name: str) -> None:
        while batch := await r.claim_due(clock.now_ms(), 7, 10**9, name):
            for item in batch:
                claimed.append(item.id)
                order.setdefault(item.contact_id, []).append(item.id)
                await r.mark_delivered(item.id)

    await asyncio.gather(*(worker(r, f"{id(r)}-{i}") for i in range(4) for r in (repo, other)))
    assert len(claimed) == len(set(claimed)) == 200
    assert await repo.outbox_stats(clock.now_ms()) == (0, 0)
    for contact in contacts:
        assert order[contact] == sorted(order[contact])  # delivered in enqueue order
