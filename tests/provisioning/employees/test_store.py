"""Employee storage on both backends: atomic reservation, invites, sessions, audit log."""

from __future__ import annotations

import asyncio

from bridge.state import SqlRepository
from provisioning.audit import list_audit, record_audit
from provisioning.store import (
    Employee,
    get_employee,
    get_steps,
    insert_employee,
    issue_invite,
    revoke_staff_sessions,
)
from provisioning.tokens import INVITE_TTL_MS, hash_token
from provisioning.usernames import choose_username
from tests.fakes import OpenRepo

NOW = 1_700_000_000_000


def employee(username: str, *, key: str | None = None) -> Employee:
    return Employee(
        username=username,
        email=f"{username}@mmallelectronics.co.za",
        first_name="Kay",
        last_name="Ntulo",
        personal_email="kay@example.org",
        department="DTV",
        role="agent",
        status="pending",
        saga_marker=f"bridge-emp-{username}",
        idempotency_key=key,
        created_at_ms=NOW,
        updated_at_ms=NOW,
    )


async def test_reservation_is_atomic_across_replicas(open_repo: OpenRepo) -> None:
    repos = [await open_repo() for _ in range(3)]

    results = await asyncio.gather(
        *(insert_employee(r.database, employee("kay.ntulo")) for r in repos)
    )

    assert sorted(results) == [False, False, True]
    steps = await get_steps(repos[0].database, "kay.ntulo")
    assert {s: r.status for s, r in steps.items()} == {
        "mailbox": "pending",
        "chatwoot_user": "pending",
        "team": "pending",
        "inboxes": "pending",
        "invite": "pending",
    }


async def test_concurrent_choices_of_one_base_get_distinct_usernames(repo: SqlRepository) -> None:
    db = repo.database

    async def never_taken(_: str) -> bool:
        await asyncio.sleep(0)  # let the requests interleave between check and reserve
        return False

    async def reserve(candidate: str) -> bool:
        return await insert_employee(db, employee(candidate))

    names = await asyncio.gather(
        *(choose_username("kay.ntulo", never_taken, reserve) for _ in range(4))
    )

    assert sorted(names) == ["kay.ntulo", "kay.ntulo1", "kay.ntulo2", "kay.ntulo3"]


async def test_an_idempotency_key_belongs_to_one_employee(repo: SqlRepository) -> None:
    db = repo.database

    assert await insert_employee(db, employee("kay.ntulo", key="k1"))
    assert not await insert_employee(db, employee("kay.ntulo1", key="k1"))
    assert await get_employee(db, "kay.ntulo1") is None


async def test_invites_store_only_a_hash_and_a_reissue_revokes_the_old_one(
    repo: SqlRepository,
) -> None:
    db = repo.database
    await insert_employee(db, employee("kay.ntulo"))

    first, first_expiry = await issue_invite(db, "kay.ntulo", NOW)
    second, _ = await issue_invite(db, "kay.ntulo", NOW + 1000)

    rows = await db.fetch(
        "SELECT token_hash, expires_at_ms, revoked_at_ms FROM invites ORDER BY created_at_ms"
    )
    assert [r["token_hash"] for r in rows] == [hash_token(first.plain), hash_token(second.plain)]
    assert first_expiry == NOW + INVITE_TTL_MS
    assert int(rows[0]["revoked_at_ms"]) == NOW + 1000
    assert int(rows[0]["expires_at_ms"]) == NOW + 1000  # no longer open for any reader
    assert rows[1]["revoked_at_ms"] is None
    assert int(rows[1]["expires_at_ms"]) == NOW + 1000 + INVITE_TTL_MS
    assert len(first.plain) >= 43  # 32 random bytes, urlsafe base64


async def test_revoke_staff_sessions_ends_only_live_ones(repo: SqlRepository) -> None:
    db = repo.database
    await insert_employee(db, employee("kay.ntulo"))
    await insert_employee(db, employee("ann.other"))
    for session_hash, username, revoked in (
        ("a", "kay.ntulo", None),
        ("b", "kay.ntulo", NOW - 5),
        ("c", "ann.other", None),
    ):
        await db.execute(
            "INSERT INTO staff_sessions (session_hash, username, created_at_ms, expires_at_ms, "
            "revoked_at_ms) VALUES ($1, $2, $3, $4, $5)",
            session_hash,
            username,
            NOW - 10,
            NOW + 10_000,
            revoked,
        )

    assert await revoke_staff_sessions(db, "kay.ntulo", NOW) == 1

    rows = await db.fetch("SELECT session_hash, revoked_at_ms FROM staff_sessions")
    revoked_at = {r["session_hash"]: r["revoked_at_ms"] for r in rows}
    assert int(revoked_at["a"]) == NOW
    assert int(revoked_at["b"]) == NOW - 5
    assert revoked_at["c"] is None


async def test_audit_log_is_newest_first_filterable_and_pageable(repo: SqlRepository) -> None:
    db = repo.database
    await record_audit(db, "admin", "employee.create", "kay.ntulo", "active", {"role": "agent"}, 1)
    await record_audit(db, "ann.admin", "employee.disable", "kay.ntulo", "disabled", None, 2)
    await record_audit(db, "admin", "employee.create", "ann.other", "pending", "plain text", 3)

    everything = await list_audit(db)
    for_kay = await list_audit(db, target="kay.ntulo")
    older = await list_audit(db, before_id=everything[0].id, limit=1)

    assert [(e.actor, e.target, e.at_ms) for e in everything] == [
        ("admin", "ann.other", 3),
        ("ann.admin", "kay.ntulo", 2),
        ("admin", "kay.ntulo", 1),
    ]
    assert everything[0].detail == {"message": "plain text"}
    assert everything[2].detail == {"role": "agent"}
    assert [e.outcome for e in for_kay] == ["disabled", "active"]
    assert [e.at_ms for e in older] == [2]
