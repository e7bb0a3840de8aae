"""The inbox processor: runs stored webhook events through the flows, per contact, in order.

Each contact has at most one lane (task) at a time; a lane takes the contact lock, reads the
oldest pending event *after* the lock is held, runs the flow and marks the event processed in
one transaction, then moves to the next. Different contacts run in parallel (bounded). A failing
event is retried by the sweeper and dead after `max_attempts`, so one poison event cannot block
a contact forever. Lanes end when idle, so nothing grows with the number of contacts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bridge.clock import Clock, SystemClock
from bridge.delivery.pressure import WebhookPressure
from bridge.metrics import Metrics
from bridge.state.records import InboundEvent
from bridge.state.repository import Repository

log = logging.getLogger(__name__)

Dispatch = Callable[[InboundEvent], Awaitable[None]]


def _detached(coroutine: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
    """A task with a fresh context: lanes are poked from webhooks, whose context holds their
    open storage transaction (a lane would otherwise run its steps inside it, with no lock and
    no rollback of its own), their urgency and their request id."""
    return asyncio.create_task(coroutine, name=name, context=contextvars.Context())


class InboxProcessor:
    def __init__(
        self,
        repository: Repository,
        dispatch: Dispatch,
        *,
        max_attempts: int = 5,
        concurrency: int = 32,
        sweep_interval_s: float = 2.0,
        max_waiting: int = 10_000,
        on_processed: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        pressure: WebhookPressure | None = None,
    ) -> None:
        self._repository = repository
        self._dispatch = dispatch
        self._max_attempts = max_attempts
        self._concurrency = concurrency
        self._sweep_interval_s = sweep_interval_s
        self._on_processed = on_processed
        self._metrics = metrics or Metrics()
        self._clock = clock or SystemClock()
        self._pressure = pressure
        self._lanes: dict[int | None, asyncio.Task[None]] = {}
        self._again: set[int | None] = set()
        # Contacts poked while every lane was busy, oldest first: an entry is ~100 bytes where a
        # waiting task was ~2 KB. Past `max_waiting` (a burst of 100,000 new customers) they are
        # left to the sweep, which finds them again from their stored events.
        self._waiting: dict[int | None, None] = {}
        self._max_waiting = max_waiting
        self._overflow = False
        self._sweeper: asyncio.Task[None] | None = None
        self._refill: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="inbox-sweeper")

    @property
    def running(self) -> bool:
        return self._sweeper is not None and not self._sweeper.done()

    @property
    def active_lanes(self) -> int:
        return len(self._lanes)

    async def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping = True
        self._waiting.clear()  # their events are stored: the next start finds them
        tasks = [t for t in [self._sweeper, self._refill, *self._lanes.values()] if t is not None]
        for sweeper in (self._sweeper, self._refill):
            if sweeper is not None:
                sweeper.cancel()
        done, pending = await asyncio.wait(tasks, timeout=timeout_s) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        del done

    # -- scheduling -----------------------------------------------------------------------

    def poke(self, contact_id: int | None) -> None:
        """Make sure a lane runs for this contact (events were stored for it)."""
        if self._stopping:
            return
        lane = self._lanes.get(contact_id)
        if lane is not None and not lane.done():
            self._again.add(contact_id)
        elif len(self._lanes) < self._concurrency:
            self._lanes[contact_id] = _detached(self._run_lane(contact_id))
        elif len(self._waiting) < self._max_waiting:
            self._waiting[contact_id] = None
        else:
            self._overflow = True

    def _next_waiting(self) -> None:
        """A lane ended: start the longest-waiting contact's, and refill from storage when the
        waiting list overflowed and has room again."""
        while self._waiting and len(self._lanes) < self._concurrency and not self._stopping:
            contact_id = next(iter(self._waiting))
            del self._waiting[contact_id]
            self.poke(contact_id)
        if self._overflow and len(self._waiting) <= self._max_waiting // 2:
            self._overflow = False  # set again by the sweep if there is still more
            self._sweep_soon()

    async def drain(self) -> None:
        """Wait until no lane is running or waiting (tests)."""
        while self._lanes or self._waiting or self._overflow or self._refilling:
            await asyncio.gather(*list(self._lanes.values()), return_exceptions=True)
            if self._refill is not None:
                await asyncio.gather(self._refill, return_exceptions=True)
            if self._overflow and not self._lanes:
                self._overflow = False
                await self.sweep()

    @property
    def _refilling(self) -> bool:
        return self._refill is not None and not self._refill.done()

    async def sweep(self) -> int:
        """Poke contacts with pending events, oldest first (start-up recovery, stragglers, and
        contacts left out while the waiting list was full)."""
        limit = min(max(0, self._max_waiting - len(self._waiting)) + self._concurrency, 1000)
        contact_ids = await self._repository.pending_inbound_contacts(limit)
        for contact_id in contact_ids:
            self.poke(contact_id)
        if len(contact_ids) == limit:
            self._overflow = True  # maybe more than there was room for: refill as lanes end
        return len(contact_ids)

    def _sweep_soon(self) -> None:
        if self._stopping or (self._refill is not None and not self._refill.done()):
            return
        self._refill = _detached(self._sweep_quietly(), name="inbox-refill")

    async def _sweep_quietly(self) -> None:
        try:
            await self.sweep()
        except Exception:
            log.exception("inbox refill sweep failed; the periodic sweep retries")

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("inbox sweep failed")
            await asyncio.sleep(self._sweep_interval_s)

    # -- one lane -------------------------------------------------------------------------

    async def _run_lane(self, contact_id: int | None) -> None:
        try:
            while not self._stopping:
                if self._pressure is not None:
                    await self._pressure.give_way()
                # SQLite work does not suspend: `_more` yields so webhooks and lanes run.
                if await self.process_next(contact_id) and await self._more(contact_id):
                    continue
                if contact_id in self._again:
                    self._again.discard(contact_id)
                    continue
                break
        finally:
            if self._lanes.get(contact_id) is asyncio.current_task():
                del self._lanes[contact_id]
            self._again.discard(contact_id)
            self._next_waiting()

    async def _more(self, contact_id: int | None) -> bool:
        """After an event: is another one waiting? A plain read, not a locked transaction (most
        lanes end here); an event stored after it pokes the lane, which is still running."""
        await asyncio.sleep(0)
        try:
            return await self._repository.has_pending_inbound(contact_id)
        except Exception:
            log.exception("inbox lane for contact %s could not look ahead", contact_id)
            return True  # let process_next find out, under the lock

    async def process_next(self, contact_id: int | None) -> bool:
        """Process the contact's oldest pending event; False when there is none or it failed."""
        failed: tuple[InboundEvent, Exception] | None = None
        try:
            async with self._repository.transaction(lock=contact_id):
                event = await self._repository.next_inbound(contact_id)
                if event is None:
                    return False
                try:
                    await self._dispatch(event)
                except Exception as exc:
                    failed = (event, exc)
                    raise
                await self._repository.mark_processed(event.id)
            waited_ms = max(0, self._clock.now_ms() - event.received_at_ms)
            self._metrics.child(self._metrics.event_latency, event.kind).observe(waited_ms / 1000)
            if self._pressure is not None:
                self._pressure.processed()
        except Exception as exc:
            if failed is None:
                log.exception("inbox lane for contact %s failed", contact_id)
                return False
            event, error = failed
            del exc
            log.warning(
                "event %s (%s) failed: %s",
                event.id,
                event.kind,
                error,
                exc_info=error,
                extra={"contact_id": contact_id},
            )
            await self._repository.mark_inbound_failed(
                event.id, f"{type(error).__name__}: {error}", self._max_attempts
            )
            return False
        self._on_processed()
        return True
