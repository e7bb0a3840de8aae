"""POST /api/employees against the simulators: the whole saga, collisions, concurrency."""

from __future__ import annotations

import asyncio
import re

from bridge.sim.mailcow import add_mailbox
from provisioning.tokens import INVITE_TTL_MS, hash_token
from tests.provisioning.employees.conftest import ADMIN, KAY, PUBLIC_URL, SimEnv

LINK_RE = re.compile(re.escape(PUBLIC_URL) + r"/onboarding/([A-Za-z0-9_-]+)")


async def _all_rows_text(env: SimEnv) -> str:
    tables = ["employees", "employee_steps", "invites", "audit_log", "outbox"]
    dump = []
    for table in tables:
        rows = await env.db.fetch(f"SELECT * FROM {table}")
        dump += [repr(tuple(row)) for row in rows]  # type: ignore[arg-type]
    return "\n".join(dump)


async def test_happy_path_provisions_every_system_and_mails_a_working_link(
    sim_env: SimEnv,
) -> None:
    response = await sim_env.post_employee(KAY)
    body = await response.json()

    assert response.status == 201, body
    address = f"kay.ntulo@{sim_env.domain}"
    assert body == {
        "username": "kay.ntulo",
        "email": address,
        "first_name": "Kay",
        "last_name": "Ntulo",
        "department": "DTV",
        "role": "agent",
        "status": "active",
        "steps": {s: "done" for s in ("mailbox", "chatwoot_user", "team", "inboxes", "invite")},
    }
    # Mailcow: the mailbox with the configured quota (3072 MiB, sent in MiB, kept in bytes).
    mailbox = sim_env.stack.mailcow.mailboxes[address]
    assert mailbox["quota"] == 3072 * 1048576
    assert mailbox["active"] == "1"
    assert "bridge-managed" in mailbox["tags"]
    mailbox_password = mailbox["_password"]
    # Chatwoot: a confirmed user with the work email, account role, team and both inboxes.
    cw = sim_env.stack.chatwoot
    user = next(u for u in cw.users.values() if u["email"] == address)
    assert user["confirmed"] is True
    assert cw.account_users[user["id"]]["role"] == "agent"
    assert cw.account_users[user["id"]]["auto_offline"] is False  # the brief's agent setting
    assert user["id"] in cw.teams[sim_env.dtv_team_id]["members"]
    assert user["id"] in cw.inboxes[sim_env.dtv_inbox_id]["members"]
    assert user["id"] in cw.inboxes[sim_env.dtv_email_inbox_id]["members"]
    assert user["id"] not in cw.inboxes[sim_env.sales_inbox_id]["members"]
    assert cw.emails_sent == []  # Chatwoot sent no invite of its own
    # The invite: to the personal address only, a link whose token is stored as a hash.
    assert sim_env.stack.smtp is not None
    sink = sim_env.stack.smtp.sink
    assert sink.to(address) == []
    [mail] = sink.to(KAY["personal_email"])
    match = LINK_RE.search(mail.body)
    assert match is not None, mail.body
    token = match.group(1)
    row = await sim_env.db.fetchrow(
        "SELECT username, expires_at_ms, used_at_ms FROM invites WHERE token_hash = $1",
        hash_token(token),
    )
    assert row is not None
    assert row["username"] == "kay.ntulo"
    assert int(row["expires_at_ms"]) == sim_env.clock.now_ms() + INVITE_TTL_MS
    assert row["used_at_ms"] is None
    # Neither password is mailed, answered or stored anywhere.
    stored = await _all_rows_text(sim_env)
    for secret in (mailbox_password, user["password"]):
        assert secret not in mail.raw
        assert secret not in await response.text()
        assert secret not in stored
    assert token not in stored
    # The cw user id is kept for SSO and deprovisioning.
    cw_user_id = await sim_env.db.fetchval(
        "SELECT cw_user_id FROM employees WHERE username = 'kay.ntulo'"
    )
    assert int(cw_user_id) == user["id"]


async def test_get_and_list_show_the_employee_with_step_status(sim_env: SimEnv) -> None:
    created = await (await sim_env.post_employee(KAY)).json()

    one = await sim_env.client.get("/api/employees/kay.ntulo", headers=ADMIN)
    listed = await sim_env.client.get("/api/employees", headers=ADMIN)
    missing = await sim_env.client.get("/api/employees/nobody.here", headers=ADMIN)

    assert one.status == 200
    assert await one.json() == created
    assert (await listed.json())["employees"] == [created]
    assert missing.status == 404


async def test_collisions_with_mailbox_alias_and_employee_are_numbered(sim_env: SimEnv) -> None:
    mailcow, domain = sim_env.stack.mailcow, sim_env.domain
    pw = "Someone-elses-2024"
    added = add_mailbox(
        mailcow, {"local_part": "kay.ntulo", "domain": domain, "password": pw, "password2": pw}
    )
    assert added[-1]["type"] == "success"
    mailcow.aliases[999] = {"id": 999, "address": f"kay.ntulo1@{domain}", "goto": "a@b.c"}

    first = await (await sim_env.post_employee(KAY)).json()
    assert first["username"] == "kay.ntulo2", first
    # Only the employee row holds kay.ntulo2 now: its mailbox is gone from Mailcow.
    del mailcow.mailboxes[f"kay.ntulo2@{domain}"]
    second = await (await sim_env.post_employee(KAY)).json()

    assert first["username"] == "kay.ntulo2"
    assert second["username"] == "kay.ntulo3"
    assert second["email"] == f"kay.ntulo3@{domain}"


async def test_a_disabled_employees_username_is_never_reused(sim_env: SimEnv) -> None:
    await sim_env.post_employee(KAY)
    deleted = await sim_env.client.delete("/api/employees/kay.ntulo", headers=ADMIN)
    assert deleted.status == 200
    # Even if the mailbox disappears from Mailcow later, the name stays reserved.
    del sim_env.stack.mailcow.mailboxes[f"kay.ntulo@{sim_env.domain}"]

    again = await (await sim_env.post_employee(KAY)).json()

    assert again["username"] == "kay.ntulo1"


async def test_names_are_folded_to_ascii(sim_env: SimEnv) -> None:
    body = {**KAY, "first_name": "José", "last_name": "Núñez-Ölsen", "department": "sales"}

    response = await sim_env.post_employee(body)
    created = await response.json()

    assert response.status == 201
    assert created["username"] == "jose.nunez-olsen"
    assert created["department"] == "Sales"  # the configured key, matched case-insensitively
    assert f"jose.nunez-olsen@{sim_env.domain}" in sim_env.stack.mailcow.mailboxes


async def test_concurrent_requests_for_one_name_get_two_usernames(sim_env: SimEnv) -> None:
    responses = await asyncio.gather(*(sim_env.post_employee(KAY) for _ in range(3)))
    bodies = [await r.json() for r in responses]

    assert sorted(b["username"] for b in bodies) == ["kay.ntulo", "kay.ntulo1", "kay.ntulo2"]
    assert all(r.status == 201 for r in responses)
    assert sim_env.mailcow_adds() == 3
    assert len(sim_env.stack.mailcow.mailboxes) == 3


async def test_administrator_role_reaches_chatwoot(sim_env: SimEnv) -> None:
    response = await sim_env.post_employee(
        {**KAY, "role": "administrator", "phone": "+27 82 555 0101"}
    )
    body = await response.json()

    cw = sim_env.stack.chatwoot
    user = next(u for u in cw.users.values() if u["email"] == body["email"])
    assert body["role"] == "administrator"
    assert cw.account_users[user["id"]]["role"] == "administrator"
