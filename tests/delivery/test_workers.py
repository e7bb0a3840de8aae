"""The outbox worker's and inbox processor's rules, driven directly on a repository."""

from __future__ import annotations

import asyncio
import random

import pytest

from bridge.delivery.backoff import BackoffPolicy
from bridge.delivery.inbox import InboxProcessor
from bridge.delivery.outbox import Delivered, OutboxHandler, OutboxRoute, OutboxWorker
from bridge.delivery.recovery import unanswered
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from bridge.ids import InstanceName, WaJid
from bridge.state import priority
from bridge.state.records import InboundEvent, InboundStatus, OutboxItem, OutboxStatus
from bridge.state.repository import SqlRepository
from tests.fakes import FakeClock


async def new_contact(repo: SqlRepository, n: int = 1) -> int:
    contact = await repo.resolve_contact(
        InstanceName("inst-demo"), WaJid(f"2785{n:07d}@s.whatsapp.net"), None
    )
    return contact.id


async def queue(repo: SqlRepository, kind: str, key: str, contact_id: int | None) -> int:
    item = OutboxItem(kind, key, {"key": key}, contact_id)
    assert await repo.enqueue(item)
    return item.id


async def status_of(repo: SqlRepository, item_id: int) -> OutboxItem:
    item = await repo.get_outbox_item(item_id)
    assert item is not None
    return item


def one_route_worker(
    repo: SqlRepository,
    clock: FakeClock,
    kind: str,
    handler: OutboxHandler,
    *,
    probe_interval_s: float,
    **policy: int,
) -> OutboxWorker:
    """A worker with one route and its own backoff (`base_ms`, `max_attempts`)."""
    return OutboxWorker(
        repo,
        {kind: OutboxRoute(handler)},
        clock,
        policy=BackoffPolicy(**policy),
        probe_interval_s=probe_interval_s,
    )


async def test_not_resend_safe_route_is_resent_only_when_never_sent(
    repo: SqlRepository, clock: FakeClock
) -> None:
    errors = {
        "sent-maybe": RetryableDeliveryError("HTTP 503", status=503),
        "never-left": RetryableDeliveryError("connection refused", never_sent=True),
    }

    async def handler(item: OutboxItem) -> Delivered:
        raise errors[item.dedupe_key]

    worker = OutboxWorker(repo, {"tb": OutboxRoute(handler, resend_safe=False)}, clock)
    maybe = await queue(repo, "tb", "sent-maybe", None)
    never = await queue(repo, "tb", "never-left", None)
    assert await worker.run_once() == 2
    dead = await status_of(repo, maybe)
    assert dead.status is OutboxStatus.DEAD
    assert "not resent" in (dead.last_error or "")
    again = await status_of(repo, never)
    assert again.status is OutboxStatus.PENDING
    assert again.available_at_ms >= clock.now_ms()


async def test_feedback_events_are_stored_with_the_settlement(
    repo: SqlRepository, clock: FakeClock
) -> None:
    async def handler(item: OutboxItem) -> Delivered:
        if item.dedupe_key == "bad":
            raise PermanentDeliveryError("HTTP 422", status=422)
        return Delivered({"cw_message_id": 42})

    poked: list[int | None] = []
    worker = OutboxWorker(
        repo, {"cw.send": OutboxRoute(handler, feedback=True)}, clock, on_feedback=poked.append
    )
    contact_id = await new_contact(repo)
    good = await queue(repo, "cw.send", "good", contact_id)
    other_contact_id = await new_contact(repo, 2)
    bad = await queue(repo, "cw.send", "bad", other_contact_id)
    assert await worker.drain() == 2

    done = await repo.next_inbound(contact_id)
    assert done is not None
    assert done.kind == "cw.send.done"
    assert done.source == "outbox"
    assert done.payload["result"] == {"cw_message_id": 42}
    assert done.payload["request"] == {"key": "good"}
    assert (await status_of(repo, good)).status is OutboxStatus.DELIVERED
    failed_rows = await repo.database.fetch(
        "SELECT kind, payload FROM inbound_event WHERE kind = 'cw.send.failed'"
    )
    assert len(failed_rows) == 1
    assert "422" in failed_rows[0]["payload"]
    assert (await status_of(repo, bad)).status is OutboxStatus.DEAD
    assert sorted(poked, key=str) == sorted([contact_id, other_contact_id], key=str)
    # Settling again (a late duplicate) adds no second feedback event.
    assert await repo.mark_delivered(good) is False
    assert await repo.database.fetchval("SELECT COUNT(*) FROM inbound_event") == 2


async def test_exhausted_timeouts_and_unknown_kinds_end_as_dead_letters(
    repo: SqlRepository, clock: FakeClock
) -> None:
    async def slow(item: OutboxItem) -> Delivered:
        await asyncio.Event().wait()  # never answers
        return Delivered()

    routes = {"slow": OutboxRoute(slow, timeout_s=0.01)}
    worker = OutboxWorker(repo, routes, clock, policy=BackoffPolicy(max_attempts=2))
    slow_id = await queue(repo, "slow", "slow-1", None)
    orphan_id = await queue(repo, "gone", "orphan-1", None)
    assert await worker.run_once() == 2
    first = await status_of(repo, slow_id)
    assert first.status is OutboxStatus.PENDING
    assert first.last_error == "timed out"
    assert "no delivery handler" in ((await status_of(repo, orphan_id)).last_error or "")
    clock.ms = first.available_at_ms
    assert await worker.run_once() == 1
    gave_up = await status_of(repo, slow_id)
    assert gave_up.status is OutboxStatus.DEAD
    assert "gave up after 2 attempts" in (gave_up.last_error or "")
    letters = await repo.list_dead_letters()
    assert {letter.dedupe_key for letter in letters} == {"slow-1", "orphan-1"}


def test_backoff_is_capped_full_jitter_and_honours_retry_after() -> None:
    policy = BackoffPolicy(base_ms=1_000, cap_ms=60_000, max_attempts=5)
    rng = random.Random(7)
    for attempt in range(1, 12):
        ceiling = min(60_000, 1_000 * 2 ** (attempt - 1))
        delays = [policy.next_delay_ms(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays), attempt
        assert max(delays) > ceiling // 2  # jitter spreads over the whole range
    assert all(policy.next_delay_ms(1, 30, rng) >= 30_000 for _ in range(50))
    assert policy.next_delay_ms(1, 3_600, rng) == 60_000  # Retry-After never beyond the cap
    assert not policy.exhausted(4)
    assert policy.exhausted(5)


async def test_inbox_failing_event_is_retried_then_dead_without_blocking_its_contact(
    repo: SqlRepository,
) -> None:
    contact_id = await new_contact(repo)
    handled: list[str] = []
    failures = {"poison": 99, "flaky": 1}

    async def dispatch(event: InboundEvent) -> None:
        if failures.get(event.external_id, 0) > 0:
            failures[event.external_id] -= 1
            raise RuntimeError(f"flow failed on {event.external_id}")
        handled.append(event.external_id)

    for external_id in ("flaky", "poison", "after"):
        await repo.record_inbound(InboundEvent("evolution", external_id, "k", {}, contact_id))
    inbox = InboxProcessor(repo, dispatch, max_attempts=3)

    assert await inbox.process_next(contact_id) is False  # flaky fails once
    assert await inbox.process_next(contact_id) is True  # the sweeper's retry: flaky ok
    for _ in range(3):
        assert await inbox.process_next(contact_id) is False  # poison, until it is dead
    assert await inbox.process_next(contact_id) is True  # the contact moves on
    assert await inbox.process_next(contact_id) is False
    assert handled == ["flaky", "after"]
    poison = await repo.find_inbound("evolution", "poison")
    assert poison is not None
    assert poison.status is InboundStatus.DEAD
    assert poison.attempts == 3
    assert "flow failed on poison" in (poison.error or "")
    dead = await repo.list_dead_inbound(10)
    assert [event.external_id for event in dead] == ["poison"]


async def test_inline_feedback_is_applied_with_the_settlement_and_never_stored(
    repo: SqlRepository, clock: FakeClock
) -> None:
    async def handler(item: OutboxItem) -> Delivered:
        return Delivered({"wa_message_id": f"WA-{item.dedupe_key}"})

    applied: list[InboundEvent] = []

    async def dispatch(event: InboundEvent) -> None:
        if event.payload["request"]["key"] == "broken":
            raise RuntimeError("flow bug")
        # Runs inside the settling transaction: the item is already marked delivered.
        item = await repo.get_outbox_item(int(event.external_id.split("#")[1].split(":")[0]))
        assert item is not None
        assert item.status is OutboxStatus.DELIVERED
        applied.append(event)

    poked: list[int | None] = []
    route = OutboxRoute(handler, feedback=True, inline_feedback=True)
    worker = OutboxWorker(
        repo, {"wa.send": route}, clock, on_feedback=poked.append, dispatch=dispatch
    )
    contact_id = await new_contact(repo)
    sent = await queue(repo, "wa.send", "ok", contact_id)
    broken = await queue(repo, "wa.send", "broken", await new_contact(repo, 2))
    assert await worker.drain() == 2

    assert [e.payload["result"] for e in applied] == [{"wa_message_id": "WA-ok"}]
    assert (await status_of(repo, sent)).status is OutboxStatus.DELIVERED
    assert await repo.next_inbound(contact_id) is None  # applied, not stored
    # A failing handler does not cost the delivery: its result goes to the inbox instead.
    assert (await status_of(repo, broken)).status is OutboxStatus.DELIVERED
    stored = await repo.next_inbound(poked[0])
    assert stored is not None
    assert stored.kind == "wa.send.done"
    assert stored.payload["result"] == {"wa_message_id": "WA-broken"}


async def test_a_burst_holds_bounded_lanes_and_every_event_is_still_processed_in_order(
    repo: SqlRepository,
) -> None:
    handled: dict[int | None, list[str]] = {}
    inbox: InboxProcessor | None = None
    most_lanes = most_waiting = 0

    async def dispatch(event: InboundEvent) -> None:
        nonlocal most_lanes, most_waiting
        assert inbox is not None
        most_lanes = max(most_lanes, inbox.active_lanes)
        most_waiting = max(most_waiting, len(inbox._waiting))
        handled.setdefault(event.contact_id, []).append(event.external_id)
        await asyncio.sleep(0)

    inbox = InboxProcessor(repo, dispatch, concurrency=2, max_waiting=3)
    contacts = [await new_contact(repo, n) for n in range(1, 21)]
    for round_ in range(3):
        for contact_id in contacts:
            event = InboundEvent("evolution", f"{contact_id}:{round_}", "k", {}, contact_id)
            assert await repo.record_inbound(event)
            inbox.poke(contact_id)  # what every stored webhook does
    assert inbox.active_lanes <= 2
    assert len(inbox._waiting) <= 3
    await inbox.drain()

    assert most_lanes <= 2
    assert most_waiting <= 3
    assert set(handled) == set(contacts)  # the ones left out were found again by a sweep
    for contact_id in contacts:
        assert handled[contact_id] == [f"{contact_id}:{r}" for r in range(3)]


async def test_a_lane_poked_from_inside_a_transaction_runs_its_own(
    repo: SqlRepository,
) -> None:
    """The evolution webhook pokes the lane while its storage transaction is open: the lane
    must not inherit it (its flow's writes would then escape the rollback of a failed step)."""
    contact_id = await new_contact(repo)
    urgent_in_lane: list[bool] = []

    async def dispatch(event: InboundEvent) -> None:
        urgent_in_lane.append(priority._urgent.get())
        await repo.enqueue(OutboxItem("wa.send", f"from-{event.external_id}", {}, contact_id))
        raise RuntimeError("the flow failed after recording an effect")

    inbox = InboxProcessor(repo, dispatch, max_attempts=1)
    # What handle_evolution_webhook holds while it stores and pokes: urgency, a transaction.
    with priority.urgent_storage():
        async with repo.grouped():
            event = InboundEvent("evolution", "poked", "k", {}, contact_id)
            assert await repo.record_inbound(event)
            inbox.poke(contact_id)
    await inbox.drain()
    assert urgent_in_lane == [False]  # background work queues behind webhooks
    stored = await repo.get_inbound(event.id)
    assert stored is not None
    assert stored.status is InboundStatus.DEAD
    # The failed step's effect was rolled back with it: nothing will be sent.
    assert (await repo.outbox_stats(0)).pending == 0


async def test_when_an_upstream_answers_again_its_waiting_retries_go_at_once(
    repo: SqlRepository, clock: FakeClock
) -> None:
    """After an outage the jittered backoff of some items reaches minutes: the first success
    for that upstream brings forward the calls it left unanswered, not those it answered with
    an error (their Retry-After stands), nor the calls to other upstreams."""
    down = True
    delivered: list[str] = []

    async def handler(item: OutboxItem) -> Delivered:
        if item.dedupe_key == "tb-busy" and down:
            raise RetryableDeliveryError("HTTP 503", status=503, retry_after_s=600)
        if down:
            raise RetryableDeliveryError("connection refused", never_sent=True)
        delivered.append(item.dedupe_key)
        return Delivered()

    routes = {"tb.turn": OutboxRoute(handler), "cw.post": OutboxRoute(handler)}
    policy = BackoffPolicy(base_ms=60_000)
    worker = OutboxWorker(repo, routes, clock, policy=policy, probe_interval_s=3_600)  # no probes
    contacts = [await new_contact(repo, n) for n in range(1, 5)]
    typebot = [await queue(repo, "tb.turn", f"tb-{n}", c) for n, c in enumerate(contacts[:3])]
    busy = await queue(repo, "tb.turn", "tb-busy", contacts[3])  # answered: 503, Retry-After
    chatwoot = await queue(repo, "cw.post", "cw-0", None)
    assert await worker.run_once() == 5  # all failed: each waits up to a minute, or 10
    assert set(worker.failing) == {"tb", "cw"}
    chatwoot_due = clock.now_ms() + 600_000  # later than any typebot item, whatever the jitter
    await repo.reschedule(chatwoot, chatwoot_due, "connection refused")
    busy_due = (await status_of(repo, busy)).available_at_ms
    due = sorted([[(await status_of(repo, i)).available_at_ms, i] for i in typebot])
    down = False
    clock.ms = due[0][0]  # only the earliest typebot item is due
    assert await worker.run_once() == 1
    # That success brought the other typebot items forward; the chatwoot item keeps its wait.
    assert await worker.run_once() == 2
    assert sorted(delivered) == ["tb-0", "tb-1", "tb-2"]
    assert "tb" not in worker.failing
    waiting = await status_of(repo, chatwoot)
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.available_at_ms == chatwoot_due
    # The call that got an answer (503) keeps its Retry-After.
    assert (await status_of(repo, busy)).available_at_ms == busy_due


async def test_a_failing_upstream_is_probed_without_spending_the_calls_attempts(
    repo: SqlRepository, clock: FakeClock
) -> None:
    """Backoff grows to minutes while an upstream is down (here a gateway's 503 without
    Retry-After): every probe interval one waiting call goes early, in turns. A failed probe
    neither counts towards that call's attempts (it would otherwise die of probing in a long
    outage) nor moves its own retry; the first probe that succeeds brings every waiting call
    forward."""
    down = True
    delivered: list[str] = []

    async def handler(item: OutboxItem) -> Delivered:
        if down:
            raise RetryableDeliveryError("HTTP 503", status=503)
        delivered.append(item.dedupe_key)
        return Delivered()

    worker = one_route_worker(
        repo, clock, "cw.post", handler, base_ms=60_000, max_attempts=3, probe_interval_s=10.0
    )
    contacts = [await new_contact(repo, n) for n in range(1, 3)]
    first, second = [await queue(repo, "cw.post", f"cw-{n}", c) for n, c in enumerate(contacts)]
    assert await worker.run_once() == 2
    far_ms = clock.now_ms() + 3_600_000  # whatever the jitter: later than anything below
    for item_id in (first, second):
        await repo.reschedule(item_id, far_ms, "HTTP 503")

    clock.advance(5_000)
    assert await worker.run_once() == 0  # no probe before the interval has passed
    clock.advance(5_000)
    assert await worker.run_once() == 1  # the probe: the oldest waiting call, still failing
    probed = await status_of(repo, first)
    assert probed.status is OutboxStatus.PENDING
    assert probed.attempts == 1  # the probe's attempt was refunded
    assert probed.available_at_ms == far_ms  # and its own retry time restored
    assert (await status_of(repo, second)).available_at_ms == far_ms

    down = False
    clock.advance(4_000)
    assert await worker.run_once() == 0  # the interval restarts after each probe
    clock.advance(6_000)
    assert await worker.run_once() == 1  # this probe (the other call's turn) succeeds ...
    assert await worker.run_once() == 1  # ... and the first waiting call goes at once
    assert delivered == ["cw-1", "cw-0"]
    assert worker.failing == {}


@pytest.mark.parametrize(
    ("error", "retry_after_s", "waits_for_recovery"),
    [
        (RetryableDeliveryError("refused", never_sent=True), None, True),
        (None, None, True),  # timed out
        (RetryableDeliveryError("HTTP 502", status=502), None, True),
        (RetryableDeliveryError("HTTP 503", status=503), None, True),
        (RetryableDeliveryError("HTTP 504", status=504), None, True),
        (RetryableDeliveryError("HTTP 503", status=503, retry_after_s=30), 30, False),
        (RetryableDeliveryError("HTTP 429", status=429), None, False),
        (RetryableDeliveryError("HTTP 500", status=500), None, False),
        (ValueError("a bug in a handler"), None, False),
    ],
)
def test_which_failures_wait_for_the_upstreams_recovery(
    error: BaseException | None, retry_after_s: float | None, waits_for_recovery: bool
) -> None:
    """No answer, or a gateway saying the service is down: the call goes when the upstream is
    back. An answer about this request (500, 429) or a Retry-After keeps the backoff."""
    assert unanswered(error, retry_after_s) is waits_for_recovery


async def test_a_call_whose_next_attempt_is_its_last_is_not_probed(
    repo: SqlRepository, clock: FakeClock
) -> None:
    """Provisioning treats an item's last attempt as final (the step is recorded as failed):
    probing must not rush an item into it. It still goes at once when the upstream is back."""
    down = True
    delivered: list[str] = []

    async def handler(item: OutboxItem) -> Delivered:
        if down and item.dedupe_key != "other":
            raise RetryableDeliveryError("connection refused", never_sent=True)
        delivered.append(item.dedupe_key)
        return Delivered()

    worker = one_route_worker(
        repo, clock, "mc.step", handler, base_ms=60_000, max_attempts=2, probe_interval_s=10.0
    )
    last = await queue(repo, "mc.step", "last", await new_contact(repo))
    assert await worker.run_once() == 1
    far_ms = clock.now_ms() + 3_600_000
    await repo.reschedule(last, far_ms, "connection refused")
    clock.advance(60_000)
    assert await worker.run_once() == 0  # its next attempt is its last: no probe
    assert (await status_of(repo, last)).available_at_ms == far_ms

    down = False
    await queue(repo, "mc.step", "other", None)  # another call to the same upstream succeeds
    assert await worker.run_once() == 1
    assert await worker.run_once() == 1  # ... and the waiting one goes at once
    assert delivered == ["other", "last"]


async def test_a_slow_probe_is_followed_by_a_whole_interval_and_only_silence_is_refunded(
    repo: SqlRepository, clock: FakeClock
) -> None:
    """A probe that times out after 30 s must not be followed by another at once (the same
    call would be probed back to back, its attempts refunded forever). A probe that gets an
    answer about the request (HTTP 500) counts as the call's attempt like any other."""
    answer: BaseException = TimeoutError()

    async def handler(item: OutboxItem) -> Delivered:
        clock.advance(30_000)  # the call took 30 s
        raise answer

    worker = one_route_worker(
        repo, clock, "cw.post", handler, base_ms=600_000, probe_interval_s=10.0
    )
    waiting = await queue(repo, "cw.post", "slow", await new_contact(repo))
    assert await worker.run_once() == 1
    far_ms = clock.now_ms() + 3_600_000
    await repo.reschedule(waiting, far_ms, "timed out")
    clock.advance(10_000)
    assert await worker.run_once() == 1  # the probe: 30 s, then a timeout
    assert (await status_of(repo, waiting)).attempts == 1
    assert await worker.run_once() == 0  # not at once ...
    clock.advance(9_000)
    assert await worker.run_once() == 0
    clock.advance(1_000)
    answer = RetryableDeliveryError("HTTP 500", status=500)
    assert await worker.run_once() == 1  # ... but 10 s after the last one ended
    counted = await status_of(repo, waiting)
    assert counted.attempts == 2  # a 500 is an answer: the attempt counts
    assert counted.available_at_ms != far_ms  # and its backoff starts again


async def test_a_recovery_that_fails_again_leaves_the_call_waiting_for_the_next(
    repo: SqlRepository, clock: FakeClock
) -> None:
    """An upstream that flaps (answers, then times out again) must not strand a call behind a
    minutes-long backoff: brought forward and failing again, it still waits for the next
    recovery."""
    silent = {"stuck"}

    async def handler(item: OutboxItem) -> Delivered:
        if item.dedupe_key in silent:
            raise RetryableDeliveryError("HTTP 504", status=504)
        return Delivered()

    worker = one_route_worker(
        repo, clock, "cw.post", handler, base_ms=600_000, probe_interval_s=3_600
    )
    stuck = await queue(repo, "cw.post", "stuck", await new_contact(repo, 1))
    assert await worker.run_once() == 1
    await queue(repo, "cw.post", "ok-1", None)
    assert await worker.run_once() == 1  # a success brings "stuck" forward ...
    assert await worker.run_once() == 1  # ... where it fails again
    assert (await status_of(repo, stuck)).attempts == 2
    silent.clear()
    await queue(repo, "cw.post", "ok-2", None)
    assert await worker.run_once() == 1  # the next success brings it forward again
    assert await worker.run_once() == 1
    assert (await status_of(repo, stuck)).status is OutboxStatus.DELIVERED


async def test_a_call_longer_than_the_lease_extends_its_own_lease(
    repo: SqlRepository, clock: FakeClock
) -> None:
    """A lease that ran out while its call was still running would let the item be claimed and
    sent a second time."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(item: OutboxItem) -> Delivered:
        started.set()
        await release.wait()
        return Delivered()

    routes = {"saga.step": OutboxRoute(slow, timeout_s=300.0)}
    worker = OutboxWorker(repo, routes, clock, lease_ms=60_000)
    item_id = await queue(repo, "saga.step", "s", None)
    delivering = asyncio.create_task(worker.run_once())
    await started.wait()
    leased = await status_of(repo, item_id)
    assert leased.leased_until_ms is not None
    assert leased.leased_until_ms >= clock.now_ms() + 300_000 + 30_000
    clock.advance(299_000)
    assert await repo.claim_due(clock.now_ms(), 10, 60_000, "other-worker") == []
    release.set()
    assert await delivering == 1


async def test_a_long_call_whose_item_another_worker_took_is_not_sent(
    repo: SqlRepository, clock: FakeClock
) -> None:
    sent: list[str] = []

    async def slow(item: OutboxItem) -> Delivered:
        sent.append(item.dedupe_key)
        return Delivered()

    worker = OutboxWorker(repo, {"saga.step": OutboxRoute(slow, timeout_s=300.0)}, clock)
    await queue(repo, "saga.step", "s", None)
    [stale] = await repo.claim_due(clock.now_ms(), 10, 60_000, worker.worker_id)
    clock.advance(61_000)  # the lease ran out before the call started: another worker took it
    assert len(await repo.claim_due(clock.now_ms(), 10, 60_000, "other-worker")) == 1
    await worker.deliver(stale)
    assert sent == []
