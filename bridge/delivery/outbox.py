"""The outbox worker: claims due items under a lease and runs their delivery handlers.

Retries live only here (clients make one attempt). Order per contact is kept by the repository,
whose `claim_due` hands out only the oldest undelivered item of each contact; different contacts
run in parallel up to `concurrency`. Results and permanent failures of calls the flows care about
come back as inbound events in the same transaction that settles the item.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.clock import Clock
from bridge.delivery.backoff import BackoffPolicy
from bridge.delivery.inbox import Dispatch
from bridge.delivery.pressure import WebhookPressure
from bridge.delivery.recovery import Probe, UpstreamHealth, unanswered
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError, StorageUnavailable
from bridge.metrics import Metrics, target_of
from bridge.state.records import InboundEvent, OutboxItem
from bridge.state.repository import Repository

log = logging.getLogger(__name__)

FEEDBACK_SOURCE = "outbox"
# A lease outlives its call by this much: a lease that ran out during the call would let the
# item be claimed again while it is still being sent (a second WhatsApp message).
LEASE_MARGIN_MS = 30_000
# Covers the chat's longest calls (60 s WhatsApp sends and Chatwoot posts) with that margin.
DEFAULT_LEASE_MS = 90_000
INTERRUPTED = "Interrupted: the call's outcome is unknown (the process stopped during it)"


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a handler reports on success; `result` is fed back to the flows when wanted."""

    result: dict[str, Any] = field(default_factory=dict)
    # False when this result changes nothing for the flows (saves an inbox event per call).
    feedback: bool = True


OutboxHandler = Callable[[OutboxItem], Awaitable[Delivered]]


@dataclass(frozen=True, slots=True)
class OutboxRoute:
    handler: OutboxHandler
    # Results ("<kind>.done") and failures ("<kind>.failed") come back as inbound events.
    feedback: bool = False
    # False for calls that are not idempotent upstream (Typebot continueChat): retried only when
    # the request provably never left (connection refused), otherwise dead-lettered at once.
    resend_safe: bool = True
    timeout_s: float = 30.0
    # The result is applied by its flow handler in the transaction that marks the item delivered,
    # instead of being stored for the contact's lane: for results that only record facts (sent
    # ids, message links) and need neither the contact lock nor an order among other events.
    inline_feedback: bool = False


def _never_sent(error: BaseException | None) -> bool:
    return isinstance(error, RetryableDeliveryError) and error.never_sent


class OutboxWorker:
    def __init__(
        self,
        repository: Repository,
        routes: Mapping[str, OutboxRoute],
        clock: Clock,
        *,
        policy: BackoffPolicy | None = None,
        concurrency: int = 16,
        lease_ms: int = DEFAULT_LEASE_MS,
        poll_interval_s: float = 1.0,
        on_feedback: Callable[[int | None], None] = lambda contact_id: None,
        metrics: Metrics | None = None,
        dispatch: Dispatch | None = None,
        pressure: WebhookPressure | None = None,
        probe_interval_s: float = 10.0,
    ) -> None:
        self._repository = repository
        self._routes = routes
        self._clock = clock
        self._policy = policy or BackoffPolicy()
        self._concurrency = concurrency
        # Another replica takes a crashed one's items over when their lease ends: short for
        # the chat's calls; a longer call (a provisioning round) has its own lease extended.
        self._lease_ms = lease_ms
        self._poll_interval_s = poll_interval_s
        self._on_feedback = on_feedback
        self._metrics = metrics or Metrics()
        self._dispatch = dispatch
        self._pressure = pressure
        self.worker_id = uuid.uuid4().hex[:12]
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.last_loop_ms = 0
        self.health = UpstreamHealth(repository, clock, self._policy, probe_interval_s)

    @property
    def failing(self) -> dict[str, tuple[int, str]]:
        """Target system → (first failure ms, what fails) while its calls fail; for /readyz."""
        return self.health.failing

    # -- lifecycle ------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        # Counts as a turn of the loop: /readyz must not call a worker stalled before its first.
        self.last_loop_ms = self._clock.now_ms()
        self._task = asyncio.create_task(self.run(), name=f"outbox-{self.worker_id}")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        inflight: set[asyncio.Task[None]] = set()
        if self._repository.dialect == "sqlite":
            # SQLite is one process: whatever is inflight at start-up was leased by a crashed
            # predecessor, so waiting out its lease would only delay those contacts.
            try:
                await self._repository.release_leases()
            except Exception:
                log.exception("releasing stale outbox leases failed; they expire on their own")
        try:
            while not self._stopping:
                self.last_loop_ms = self._clock.now_ms()
                # Cleared before claiming, so a wake() that arrives during the claim is kept.
                self._wake.clear()
                free = self._concurrency - len(inflight)
                claimed: list[OutboxItem] = []
                if free > 0 and self._pressure is not None:
                    await self._pressure.give_way()
                if free > 0:
                    try:
                        await self.health.probe()
                        claimed = await self._claim(free)
                    except Exception:
                        log.exception("outbox claim failed; retrying after the poll interval")
                for item in claimed:
                    inflight.add(asyncio.create_task(self.deliver(item)))
                if claimed and len(inflight) < self._concurrency:
                    await asyncio.sleep(0)  # let the new deliveries start (storage never yields)
                    continue  # more may be due right away
                waiter = asyncio.create_task(self._wake.wait())
                done, _ = await asyncio.wait(
                    {*inflight, waiter},
                    timeout=self._poll_interval_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waiter.cancel()
                inflight -= done
        finally:
            # Items still in flight finish (or their lease expires and another worker retries).
            if inflight:
                await asyncio.gather(*inflight, return_exceptions=True)

    async def run_once(self) -> int:
        """Probe failing upstreams, claim what is due now and deliver it; for tests, draining."""
        await self.health.probe()
        items = await self._claim(self._concurrency)
        await asyncio.gather(*(self.deliver(item) for item in items))
        return len(items)

    async def drain(self, max_rounds: int = 1000) -> int:
        total = 0
        for _ in range(max_rounds):
            count = await self.run_once()
            if count == 0:
                return total
            total += count
        return total

    async def _claim(self, limit: int) -> list[OutboxItem]:
        return await self._repository.claim_due(
            self._clock.now_ms(), limit, self._lease_ms, self.worker_id
        )

    # -- one item -------------------------------------------------------------------------

    async def deliver(self, item: OutboxItem) -> None:
        route = self._routes.get(item.kind)
        if route is None:
            await self._dead(item, None, f"no delivery handler for {item.kind!r}")
            return
        if not route.resend_safe and item.attempts > 1 and item.last_error is None:
            # Claimed before and never settled: the process died during the call, whose
            # outcome is unknown. Sending it again could apply it twice upstream.
            await self._dead(item, route, INTERRUPTED)
            return
        target = target_of(item.kind)
        probe = self.health.take_probe(item)
        if not await self._lease_covers(route, item):
            return
        try:
            delivered = await self._call(route, item)
        except RetryableDeliveryError as exc:
            await self._retry_or_dead(item, route, exc, exc.retry_after_s, probe=probe)
        except PermanentDeliveryError as exc:
            await self._dead(item, route, f"{type(exc).__name__}: {exc}")
        except TimeoutError:
            await self._retry_or_dead(item, route, None, None, probe=probe)
        except Exception as exc:  # a bug in a handler: retried with backoff, then dead
            log.exception("outbox handler %s crashed", item.kind, extra={"item": item.id})
            await self._retry_or_dead(item, route, exc, None, probe=probe)
        else:
            await self._delivered(item, route, target, delivered)
        finally:
            if probe is not None:
                self.health.probe_finished(probe)

    async def _delivered(
        self, item: OutboxItem, route: OutboxRoute, target: str, delivered: Delivered
    ) -> None:
        """Count it, bring the upstream's waiting calls forward, and settle it with its result."""
        self._metrics.child(self._metrics.deliveries, target, "delivered").inc()
        if await self.health.succeeded(target, item):
            self.wake()
        follow_up = None
        if route.feedback and delivered.feedback:
            follow_up = self._feedback(item, "done", {"result": delivered.result})
        if follow_up is not None and route.inline_feedback and await self._inline(item, follow_up):
            return
        await self._settle("delivered", lambda: self._repository.mark_delivered(item.id, follow_up))
        if follow_up is not None:
            self._on_feedback(item.contact_id)

    async def _inline(self, item: OutboxItem, follow_up: InboundEvent) -> bool:
        """Mark delivered and apply the result in one transaction; False: store it instead."""
        dispatch = self._dispatch
        if dispatch is None:
            return False

        async def record() -> None:
            async with self._repository.transaction():
                if await self._repository.mark_delivered(item.id):
                    await dispatch(follow_up)

        try:
            await self._settle("delivered", record)
        except Exception:
            # A failing handler must not cost the delivery: the result goes to the inbox,
            # where failures are retried and dead-lettered like any event.
            log.exception("applying %s inline failed; storing it", follow_up.kind)
            return False
        return True

    async def _lease_covers(self, route: OutboxRoute, item: OutboxItem) -> bool:
        """Extend the lease of a call that may outlast it; False when the item is no longer
        this worker's (it must not be sent)."""
        needed_ms = int(route.timeout_s * 1000) + LEASE_MARGIN_MS
        if needed_ms <= self._lease_ms:
            return True
        until_ms = self._clock.now_ms() + needed_ms
        try:
            if await self._repository.extend_lease(item.id, self.worker_id, until_ms):
                return True
        except Exception:
            log.exception("extending the lease of %s failed; not sending it now", item.kind)
            return False
        log.warning("outbox %s is no longer leased here; not sending it", item.kind)
        return False

    async def _call(self, route: OutboxRoute, item: OutboxItem) -> Delivered:
        target = target_of(item.kind)
        started = time.perf_counter()
        try:
            with self.health.calling(target):
                return await asyncio.wait_for(route.handler(item), route.timeout_s)
        finally:
            elapsed = time.perf_counter() - started
            self._metrics.child(self._metrics.delivery_latency, target).observe(elapsed)

    async def _retry_or_dead(
        self,
        item: OutboxItem,
        route: OutboxRoute,
        error: BaseException | None,
        retry_after_s: float | None,
        *,
        probe: Probe | None = None,
    ) -> None:
        reason = f"{type(error).__name__}: {error}" if error else "timed out"
        self.health.failed(target_of(item.kind), error)
        if not route.resend_safe and not _never_sent(error):
            await self._dead(item, route, f"not resent (not idempotent upstream): {reason}")
            return
        # A probe that found the upstream still silent was the upstream's attempt, not the
        # item's: refunded, and the item keeps its own schedule.
        refund = probe is not None and unanswered(error, retry_after_s)
        if not refund and self._policy.exhausted(item.attempts):
            await self._dead(item, route, f"gave up after {item.attempts} attempts: {reason}")
            return
        if probe is not None and refund:
            delay_ms = max(0, probe.own_due_ms - self._clock.now_ms())
        else:
            delay_ms = self._policy.next_delay_ms(item.attempts, retry_after_s)
        log.info(
            "outbox %s will retry in %d ms: %s",
            item.kind,
            delay_ms,
            reason,
            extra={"item": item.id, "contact_id": item.contact_id},
        )
        due_ms = self._clock.now_ms() + delay_ms
        await self._settle(
            "retry",
            lambda: self._repository.reschedule(item.id, due_ms, reason, refund_attempt=refund),
        )
        self.health.waits(target_of(item.kind), item.id, error, retry_after_s)
        self._metrics.child(self._metrics.deliveries, target_of(item.kind), "retry").inc()
        self.wake_later(delay_ms)

    def wake_later(self, delay_ms: int) -> None:
        if delay_ms < self._poll_interval_s * 1000:
            asyncio.get_running_loop().call_later(delay_ms / 1000, self._wake.set)

    async def _dead(self, item: OutboxItem, route: OutboxRoute | None, error: str) -> None:
        log.warning(
            "outbox %s dead-lettered: %s",
            item.kind,
            error,
            extra={"item": item.id, "contact_id": item.contact_id},
        )
        self._metrics.child(self._metrics.deliveries, target_of(item.kind), "dead").inc()
        self.health.forget(item.id)

        async def record() -> None:
            async with self._repository.transaction():
                await self._repository.mark_dead(item.id, error)
                if route is not None and route.feedback:
                    failed = self._feedback(item, f"failed:{item.attempts}", {"error": error})
                    failed.kind = f"{item.kind}.failed"
                    await self._repository.record_inbound(failed)

        await self._settle("dead", record)
        if route is not None and route.feedback:
            self._on_feedback(item.contact_id)

    async def _settle(self, what: str, record: Callable[[], Awaitable[object]]) -> None:
        """Record an item's outcome, waiting out a storage outage: the call already happened,
        so giving up here would leave the item leased and its contact blocked (or resent)."""
        delay_s = 0.1
        while True:
            try:
                await record()
                return
            except StorageUnavailable:
                if self._stopping:
                    log.warning("storage unavailable at shutdown; the lease will expire")
                    return
                log.warning("storage unavailable while recording %s; retrying", what)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, 5.0)

    def _feedback(self, item: OutboxItem, outcome: str, body: dict[str, Any]) -> InboundEvent:
        return InboundEvent(
            source=FEEDBACK_SOURCE,
            external_id=f"{item.dedupe_key}#{item.id}:{outcome}",
            kind=f"{item.kind}.done",
            payload={"request": item.payload, **body},
            contact_id=item.contact_id,
            received_at_ms=self._clock.now_ms(),
        )
