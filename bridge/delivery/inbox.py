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
import logging
from collections.abc import Awaitable, Callable

from bridge.clock import Clock, SystemClock
from bridge.delivery.pressure import WebhookPressure
from bridge.metrics import Metrics
from bridge.state.priority import background_storage
from bridge.state.records import InboundEvent
from bridge.state.repository import Repository

log = logging.getLogger(__name__)

Dispatch = Callable[[InboundEvent], Awaitable[None]]


class InboxProcessor:
    def __init__(
        self,
        repository: Repository,
        dispatch: Dispatch,
        *,
        max_attempts: int = 5,
        concurrency: int = 32,
        sweep_interval_s: float = 2.0,
        on_processed: Callable[[], None] = lambda: None,
        metrics: Metrics | None = None,
        clock: Clock | None = None,
        pressure: WebhookPressure | None = None,
    ) -> None:
        self._repository = repository
        self._dispatch = dispatch
        self._max_attempts = max_attempts
        self._slots = asyncio.Semaphore(concurrency)
        self._sweep_interval_s = sweep_interval_s
        self._on_processed = on_processed
        self._metrics = metrics or Metrics()
        self._clock = clock or SystemClock()
        self._pressure = pressure
        self._lanes: dict[int | None, asyncio.Task[None]] = {}
        self._again: set[int | None] = set()
        self._sweeper: asyncio.Task[None] | None = None
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
        tasks = [t for t in [self._sweeper, *self._lanes.values()] if t is not None]
        if self._sweeper is not None:
            self._sweeper.cancel()
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
            return
        self._lanes[contact_id] = asyncio.create_task(self._run_lane(contact_id))

    async def drain(self) -> None:
        """Wait until no lane is running (tests)."""
        while self._lanes:
            await asyncio.gather(*list(self._lanes.values()), return_exceptions=True)

    async def sweep(self) -> int:
        """Poke every contact with pending events (start-up recovery and stragglers)."""
        contact_ids = await self._repository.pending_inbound_contacts(1000)
        for contact_id in contact_ids:
            self.poke(contact_id)
        return len(contact_ids)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("inbox sweep failed")
            await asyncio.sleep(self._sweep_interval_s)

    # -- one lane -------------------------------------------------------------------------

    async def _run_lane(self, contact_id: int | None) -> None:
        background_storage()  # a lane poked from a webhook must not inherit its urgency
        try:
            async with self._slots:
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
            self._metrics.event_latency.labels(event.kind).observe(waited_ms / 1000)
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
