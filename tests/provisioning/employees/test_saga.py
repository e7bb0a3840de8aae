"""Saga rules through the outbox handler: SMTP outage, the last attempt, disabled employees."""

from __future__ import annotations

import asyncio

from bridge.state.records import OutboxItem
from provisioning.saga import PROVISION_KIND, make_outbox_handler
from provisioning.store import get_employee, get_steps
from tests.provisioning.employees.conftest import ADMIN, KAY, SimEnv


async def _stop_smtp(env: SimEnv) -> None:
    smtp = env.stack.smtp
    assert smtp is not None
    await asyncio.to_thread(smtp.stop)
    env.stack.smtp = None  # already stopped: the stack must not stop it again


def _item(username: str, round_no: int, attempts: int) -> OutboxItem:
    return OutboxItem(
        kind=PROVISION_KIND,
        dedupe_key=f"test:{username}:{round_no}",
        payload={"username": username, "round": round_no},
        attempts=attempts,
    )


async def test_smtp_outage_keeps_the_invite_pending_without_a_live_token(sim_env: SimEnv) -> None:
    await _stop_smtp(sim_env)

    response = await sim_env.post_employee(KAY)
    body = await response.json()

    assert response.status == 202
    assert body["status"] == "pending"
    assert body["steps"]["chatwoot_user"] == "done"
    assert body["steps"]["invite"] == "pending"
    live = await sim_env.db.fetchval(
        "SELECT COUNT(*) FROM invites WHERE revoked_at_ms IS NULL AND used_at_ms IS NULL"
    )
    assert live == 0  # the link never reached anyone, so its token was revoked


async def test_the_outbox_last_attempt_turns_a_retryable_error_into_failed(
    sim_env: SimEnv,
) -> None:
    await _stop_smtp(sim_env)
    await sim_env.post_employee(KAY)
    handler = make_outbox_handler(sim_env.app)

    await handler(_item("kay.ntulo", 1, attempts=12))

    employee = await get_employee(sim_env.db, "kay.ntulo")
    steps = await get_steps(sim_env.db, "kay.ntulo")
    assert employee is not None
    assert employee.status == "failed"
    assert employee.error is not None
    assert employee.error.startswith("invite: gave up retrying")
    assert steps["invite"].status == "failed"


async def test_a_disabled_employees_saga_does_nothing(sim_env: SimEnv) -> None:
    await sim_env.chatwoot_faults(count=1000, status=503, path_prefix="/platform/")
    await sim_env.post_employee(KAY)
    await sim_env.client.delete("/api/employees/kay.ntulo", headers=ADMIN)
    await sim_env.chatwoot_faults()
    handler = make_outbox_handler(sim_env.app)

    await handler(_item("kay.ntulo", 1, attempts=2))

    steps = await get_steps(sim_env.db, "kay.ntulo")
    assert steps["chatwoot_user"].status == "pending"
    assert not any(
        u["email"].startswith("kay.ntulo@") for u in sim_env.stack.chatwoot.users.values()
    )
