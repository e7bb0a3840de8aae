"""What a flow handler gets: storage inside the event's transaction, time, configuration.

A flow decides and records: it may read and save the contact, append to the transcript, fire
FSM triggers and enqueue outbox items, all inside the transaction the inbox processor opened
(under the contact lock). It never does network I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.clock import Clock
from bridge.departments import Departments
from bridge.metrics import Metrics
from bridge.settings import Settings
from bridge.state.records import InboundEvent, OutboxItem
from bridge.state.repository import Repository


@dataclass(slots=True)
class FlowContext:
    repository: Repository
    clock: Clock
    settings: Settings
    departments: Departments
    metrics: Metrics | None = None
    enqueued: int = field(default=0)

    async def enqueue(
        self, kind: str, dedupe_key: str, payload: dict[str, Any], contact_id: int | None
    ) -> bool:
        """Record an intended outbound call; False when the same call was recorded before."""
        now = self.clock.now_ms()
        added = await self.repository.enqueue(
            OutboxItem(
                kind=kind,
                dedupe_key=dedupe_key,
                payload=payload,
                contact_id=contact_id,
                available_at_ms=now,
                created_at_ms=now,
            )
        )
        self.enqueued += int(added)
        return added


FlowHandler = Callable[[FlowContext, InboundEvent], Awaitable[None]]
EventRoutes = Mapping[str, FlowHandler]
