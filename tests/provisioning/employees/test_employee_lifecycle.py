"""Partial failure and retry, deprovisioning, Idempotency-Key and the audit log."""

from __future__ import annotations

import asyncio

from tests.provisioning.employees.conftest import ADMIN, KAY, SimEnv

ALL_DONE = {s: "done" for s in ("mailbox", "chatwoot_user", "team", "inboxes", "invite")}


async def test_chatwoot_down_answers_202_and_retry_completes_without_a_second_mailbox(
    sim_env: SimEnv,
) -> None:
    await sim_env.chatwoot_faults(count=1000, status=503, path_prefix="/platform/")

    response = await sim_env.post_employee(KAY)
    body = await response.json()

    assert response.status == 202, body
    assert body["status"] == "pending"
    assert body["steps"] == {
        "mailbox": "done",
        "chatwoot_user": "pending",
        "team": "pending",
        "inboxes": "pending",
        "invite": "pending",
    }
    assert sim_env.mailcow_adds() == 1
    detail = await sim_env.db.fetchval(
        "SELECT detail FROM employee_steps WHERE username = 'kay.ntulo' AND step = 'chatwoot_user'"
    )
    assert "will retry" in detail
    assert "503" in detail
    assert sim_env.stack.smtp is not None
    assert sim_env.stack.smtp.sink.messages == []  # no invite before the account exists

    await sim_env.chatwoot_faults()
    retried = await sim_env.client.post("/api/employees/kay.ntulo/retry", headers=ADMIN)
    after = await retried.json()

    assert retried.status == 200, after
    assert after["status"] == "active"
    assert after["steps"] == ALL_DONE
    assert sim_env.mailcow_adds() == 1  # reconciled with a GET, never added twice
    assert len(sim_env.stack.mailcow.mailboxes) == 1
    assert len(sim_env.stack.smtp.sink.to(KAY["personal_email"])) == 1


async def test_a_permanent_failure_stops_the_saga_and_retry_resumes_it(sim_env: SimEnv) -> None:
    domain = sim_env.stack.mailcow.domains[sim_env.domain]
    domain["max_num_mboxes_for_domain"] = 0

    response = await sim_env.post_employee(KAY)
    body = await response.json()

    assert response.status == 202
    assert body["status"] == "failed"
    assert body["steps"]["mailbox"] == "failed"
    assert body["steps"]["chatwoot_user"] == "pending"
    assert "max_mailbox_exceeded" in body["error"]
    assert "mailbox limit" in body["error"]
    assert not any(u["email"] == body["email"] for u in sim_env.stack.chatwoot.users.values())

    domain["max_num_mboxes_for_domain"] = 10
    retried = await sim_env.client.post("/api/employees/kay.ntulo/retry", headers=ADMIN)
    after = await retried.json()

    assert retried.status == 200
    assert after["status"] == "active"
    assert "error" not in after
    assert after["steps"] == ALL_DONE


async def test_retry_of_a_complete_employee_changes_nothing(sim_env: SimEnv) -> None:
    await sim_env.post_employee(KAY)

    retried = await sim_env.client.post("/api/employees/kay.ntulo/retry", headers=ADMIN)

    assert retried.status == 200
    assert (await retried.json())["steps"] == ALL_DONE
    assert sim_env.mailcow_adds() == 1
    assert sim_env.stack.smtp is not None
    assert len(sim_env.stack.smtp.sink.messages) == 1


async def test_deprovision_disables_everything_and_keeps_the_record(sim_env: SimEnv) -> None:
    await sim_env.post_employee(KAY)
    address = f"kay.ntulo@{sim_env.domain}"
    now = sim_env.clock.now_ms()
    await sim_env.db.execute(
        "INSERT INTO staff_sessions (session_hash, username, created_at_ms, expires_at_ms) "
        "VALUES ('s1', 'kay.ntulo', $1, $2)",
        now,
        now + 3_600_000,
    )
    cw = sim_env.stack.chatwoot
    user_id = next(u["id"] for u in cw.users.values() if u["email"] == address)

    response = await sim_env.client.delete("/api/employees/kay.ntulo", headers=ADMIN)
    body = await response.json()

    assert response.status == 200
    assert body["status"] == "disabled"
    assert body["username"] == "kay.ntulo"
    assert sim_env.stack.mailcow.mailboxes[address]["active"] == "0"
    assert user_id not in cw.account_users
    assert user_id not in cw.teams[sim_env.dtv_team_id]["members"]
    revoked = await sim_env.db.fetchval(
        "SELECT revoked_at_ms FROM staff_sessions WHERE session_hash = 's1'"
    )
    assert revoked is not None
    open_invites = await sim_env.db.fetchval(
        "SELECT COUNT(*) FROM invites WHERE username = 'kay.ntulo' AND revoked_at_ms IS NULL"
    )
    assert open_invites == 0

    again = await sim_env.client.delete("/api/employees/kay.ntulo", headers=ADMIN)
    still = await sim_env.client.get("/api/employees/kay.ntulo", headers=ADMIN)
    retry = await sim_env.client.post("/api/employees/kay.ntulo/retry", headers=ADMIN)

    assert again.status == 200
    assert (await again.json())["status"] == "disabled"
    assert (await still.json())["status"] == "disabled"
    assert retry.status == 409
    assert address in sim_env.stack.mailcow.mailboxes  # deactivated, not deleted


async def test_deprovision_of_an_unknown_employee_is_404(sim_env: SimEnv) -> None:
    response = await sim_env.client.delete("/api/employees/nobody", headers=ADMIN)

    assert response.status == 404
    assert sim_env.stack.mailcow.calls == []


async def test_idempotency_key_returns_the_same_employee(sim_env: SimEnv) -> None:
    first = await sim_env.post_employee(KAY, key="req-42")
    second = await sim_env.post_employee(KAY, key="req-42")
    other_body = await sim_env.post_employee({**KAY, "role": "administrator"}, key="req-42")

    assert first.status == 201
    assert second.status == 201
    assert await second.json() == await first.json()
    assert other_body.status == 422
    assert (await other_body.json())["error"]["code"] == "idempotency_key_reused"
    assert await sim_env.db.fetchval("SELECT COUNT(*) FROM employees") == 1
    assert sim_env.mailcow_adds() == 1


async def test_concurrent_requests_with_one_idempotency_key_create_one_employee(
    sim_env: SimEnv,
) -> None:
    responses = await asyncio.gather(*(sim_env.post_employee(KAY, key="same") for _ in range(3)))
    bodies = [await r.json() for r in responses]

    assert {b["username"] for b in bodies} == {"kay.ntulo"}
    assert await sim_env.db.fetchval("SELECT COUNT(*) FROM employees") == 1
    assert sim_env.mailcow_adds() == 1


async def test_audit_log_records_who_did_what_with_which_outcome(sim_env: SimEnv) -> None:
    await sim_env.post_employee(KAY)
    await sim_env.client.post("/api/employees/kay.ntulo/retry", headers=ADMIN)
    await sim_env.client.delete("/api/employees/kay.ntulo", headers=ADMIN)

    response = await sim_env.client.get("/api/audit", headers=ADMIN)
    entries = (await response.json())["entries"]
    by_admin = [(e["action"], e["outcome"]) for e in entries if e["actor"] == "admin"]
    system = {(e["action"], e["outcome"]) for e in entries if e["actor"] == "system"}
    unauthenticated = await sim_env.client.get("/api/audit")
    filtered = await sim_env.client.get(
        "/api/audit", params={"target": "someone.else"}, headers=ADMIN
    )

    assert response.status == 200
    # Newest first.
    assert by_admin == [
        ("employee.disable", "disabled"),
        ("employee.retry", "noop"),
        ("employee.create", "active"),
    ]
    assert ("provisioning.mailbox", "done") in system
    assert ("deprovisioning.disable_mailbox", "done") in system
    assert all(e["target"] == "kay.ntulo" and e["at_ms"] > 0 for e in entries)
    assert unauthenticated.status == 401
    assert (await filtered.json())["entries"] == []
