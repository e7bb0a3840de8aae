"""/readyz: storage and workers, the outbox depth and the age of its oldest pending item."""

from __future__ import annotations

from bridge.keys import REPOSITORY
from bridge.state.records import OutboxItem
from tests.delivery.conftest import StartBridge
from tests.delivery.harness import PROBE_KIND
from tests.fakes import FakeClock


async def test_readyz_reports_outbox_depth_and_age_then_503_without_storage(
    start_bridge: StartBridge, clock: FakeClock
) -> None:
    bridge = await start_bridge()
    empty = await bridge.client.get("/readyz")
    assert empty.status == 200
    body = await empty.json()
    assert body["status"] == "ready"
    assert body["checks"]["outbox"]["detail"] == "pending=0 oldest_age_ms=0"
    assert body["checks"]["storage"]["ok"] is True
    assert body["checks"]["workers"]["ok"] is True

    later = clock.now_ms() + 3_600_000  # queued, not due yet: stays pending
    for n in range(3):
        await bridge.repo.enqueue(
            OutboxItem(PROBE_KIND, f"readyz:{n}", {}, None, available_at_ms=later)
        )
        clock.advance(1_000)
    clock.advance(2_000)
    queued = await bridge.client.get("/readyz")
    assert queued.status == 200
    assert (await queued.json())["checks"]["outbox"]["detail"] == "pending=3 oldest_age_ms=5000"

    await bridge.app[REPOSITORY].close()
    down = await bridge.client.get("/readyz")
    assert down.status == 503
    body = await down.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["storage"]["ok"] is False
    assert body["checks"]["outbox"]["ok"] is False
    assert (await bridge.client.get("/healthz")).status == 200  # alive, just not ready
