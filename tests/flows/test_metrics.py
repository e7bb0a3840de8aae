"""`GET /metrics`: the story shows up as counters, and no secret appears in the text."""

from __future__ import annotations

from tests.flows.harness import World
from tests.flows.test_story import _hand_off_to_dtv


def _value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not in metrics")


async def test_metrics_count_the_story(world: World) -> None:
    await _hand_off_to_dtv(world)
    response = await world.http.get(f"{world.stack.bridge_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _value(text, 'bridge_webhooks_total{outcome="stored",source="evolution"}') >= 2
    assert _value(text, 'bridge_fsm_transitions_total{trigger="triage"}') == 1
    assert _value(text, 'bridge_fsm_transitions_total{trigger="hand_off"}') == 1
    assert _value(text, 'bridge_outbox_deliveries_total{result="delivered",target="chatwoot"}') >= 5
    assert _value(text, "bridge_outbox_pending") >= 0
    assert "bridge_event_processing_seconds_bucket" in text
    settings = world.stack.settings
    for secret in settings.secret_values():
        assert secret not in text


async def test_rejected_webhooks_are_counted(world: World) -> None:
    response = await world.http.post(
        f"{world.stack.bridge_url}/webhooks/evolution",
        json={"event": "messages.upsert"},
        headers={"X-Webhook-Secret": "wrong-secret-value"},
    )
    assert response.status_code == 401
    text = (await world.http.get(f"{world.stack.bridge_url}/metrics")).text
    assert _value(text, 'bridge_webhooks_total{outcome="rejected",source="evolution"}') == 1


async def test_provisioning_steps_are_counted(world: World) -> None:
    response = await world.http.post(
        f"{world.stack.bridge_url}/api/employees",
        json={
            "first_name": "Kay",
            "last_name": "Ntulo",
            "personal_email": "kay@example.org",
            "department": "DTV",
            "role": "agent",
        },
        headers={"Authorization": f"Bearer {world.admin_token}"},
    )
    assert response.status_code == 201, response.text
    text = (await world.http.get(f"{world.stack.bridge_url}/metrics")).text
    for step in ("mailbox", "chatwoot_user", "team", "inboxes", "invite"):
        assert _value(text, f'bridge_provisioning_steps_total{{result="done",step="{step}"}}') == 1
