"""Identity storage on SQLite and PostgreSQL: single-use jti, sessions, invites, credentials."""

from __future__ import annotations

import asyncio

import pytest

from bridge.state import SqlRepository
from provisioning.hub_jwt import CLOCK_SKEW_S, JwtRejected, authenticate_hub_bearer
from provisioning.identity.accounts import find_account, get_account, save_password_hash
from provisioning.identity.invites import consume_invite, find_open_invite
from provisioning.identity.jti_store import DbJtiStore
from provisioning.identity.sessions import create_session, find_session, revoke_session
from provisioning.store import issue_invite
from provisioning.tokens import hash_token
from tests.fakes import FakeClock, OpenRepo
from tests.identity.harness import HUB_SECRET, add_employee, hub_token, unsigned_token

EMAIL = "kay.ntulo@mmallelectronics.co.za"


async def test_jti_is_single_use_across_replicas(open_repo: OpenRepo, clock: FakeClock) -> None:
    replica_a, replica_b = await open_repo(), await open_repo()
    store_a = DbJtiStore(replica_a.database, clock)
    store_b = DbJtiStore(replica_b.database, clock)
    exp = clock.ms // 1000 + 60
    assert await store_a.consume("jti-1", exp) is True
    assert await store_b.consume("jti-1", exp) is False
    assert await store_a.consume("jti-1", exp) is False
    results = await asyncio.gather(
        *(store.consume("jti-race", exp) for store in (store_a, store_b) * 4)
    )
    assert sorted(results) == [False] * 7 + [True]


async def test_jti_rows_are_purged_once_the_token_cannot_verify(
    repo: SqlRepository, clock: FakeClock
) -> None:
    store = DbJtiStore(repo.database, clock)
    exp = clock.ms // 1000 + 60
    assert await store.consume("old", exp)
    clock.advance((60 + CLOCK_SKEW_S) * 1000 + 1)
    assert await store.consume("new", clock.ms // 1000 + 60)
    remaining = await repo.database.fetch("SELECT jti FROM sso_jti ORDER BY jti")
    assert [row["jti"] for row in remaining] == ["new"]


async def test_hub_jwt_checks_against_the_db_jti_store(
    repo: SqlRepository, clock: FakeClock
) -> None:
    consume = DbJtiStore(repo.database, clock).consume
    now_s = clock.ms // 1000
    good = hub_token(EMAIL, now_s=now_s, jti="replayed")
    claims = await authenticate_hub_bearer(good, HUB_SECRET, clock.ms, consume)
    assert claims.email == EMAIL
    refusals = {
        "replayed": good,
        "expired": hub_token(EMAIL, now_s=now_s - 400, lifetime_s=300, jti="e"),
        "signature": hub_token(EMAIL, now_s=now_s, jti="s", secret="another-secret-" + "0" * 20),
        "algorithm": unsigned_token(EMAIL, now_s=now_s),
        "lifetime_too_long": hub_token(EMAIL, now_s=now_s, lifetime_s=301, jti="l"),
    }
    for reason, token in refusals.items():
        with pytest.raises(JwtRejected) as caught:
            await authenticate_hub_bearer(token, HUB_SECRET, clock.ms, consume)
        assert caught.value.reason == reason
    # Refused tokens never reach the store: only the one good jti was recorded.
    rows = await repo.database.fetch("SELECT jti FROM sso_jti")
    assert [row["jti"] for row in rows] == ["replayed"]


async def test_accounts_are_found_by_username_or_email(
    repo: SqlRepository, clock: FakeClock
) -> None:
    db = repo.database
    await add_employee(db, "kay.ntulo", now_ms=clock.ms, role="administrator", cw_user_id=5)
    by_email = await find_account(db, "Kay.Ntulo@MMALLELECTRONICS.co.za")
    by_name = await find_account(db, " KAY.NTULO ")
    assert by_email == by_name
    assert by_name is not None
    assert (by_name.username, by_name.cw_user_id, by_name.is_admin) == ("kay.ntulo", 5, True)
    assert by_name.password_hash is None
    assert await find_account(db, "nobody") is None
    await save_password_hash(db, "kay.ntulo", "$argon2id$one", must_change=True, now_ms=1)
    await save_password_hash(db, "kay.ntulo", "$argon2id$two", must_change=False, now_ms=2)
    account = await get_account(db, "kay.ntulo")
    assert account is not None
    assert (account.password_hash, account.must_change) == ("$argon2id$two", False)
    assert "argon2" not in repr(account)


async def test_sessions_are_stored_as_hashes_and_can_be_revoked(
    repo: SqlRepository, clock: FakeClock
) -> None:
    db = repo.database
    await add_employee(db, "kay.ntulo", now_ms=clock.ms)
    session = await create_session(db, "kay.ntulo", now_ms=clock.ms, ttl_ms=1000)
    stored = await db.fetchval("SELECT session_hash FROM staff_sessions")
    assert stored == hash_token(session.plain) != session.plain
    found = await find_session(db, session.plain, now_ms=clock.ms)
    assert found is not None
    assert found.username == "kay.ntulo"
    assert found.csrf_token == session.csrf_token
    other = await create_session(db, "kay.ntulo", now_ms=clock.ms, ttl_ms=1000)
    assert other.csrf_token != session.csrf_token
    assert await find_session(db, session.plain, now_ms=clock.ms + 1000) is None
    await revoke_session(db, other.session_hash, now_ms=clock.ms)
    assert await find_session(db, other.plain, now_ms=clock.ms) is None
    assert await find_session(db, None, now_ms=clock.ms) is None
    assert await find_session(db, "bad token!", now_ms=clock.ms) is None


async def test_invites_are_consumed_atomically_once(repo: SqlRepository, clock: FakeClock) -> None:
    db = repo.database
    await add_employee(db, "kay.ntulo", now_ms=clock.ms)
    token, expires_at_ms = await issue_invite(db, "kay.ntulo", clock.ms)
    invite = await find_open_invite(db, token.plain, now_ms=clock.ms)
    assert invite is not None
    assert (invite.username, invite.email) == ("kay.ntulo", EMAIL)
    # Looking does not consume.
    assert await find_open_invite(db, token.plain, now_ms=clock.ms) is not None
    results = await asyncio.gather(
        *(consume_invite(db, invite.token_hash, now_ms=clock.ms) for _ in range(5))
    )
    assert sorted(results) == [False] * 4 + [True]
    assert await find_open_invite(db, token.plain, now_ms=clock.ms) is None
    late, late_expiry = await issue_invite(db, "kay.ntulo", clock.ms)
    assert await find_open_invite(db, late.plain, now_ms=late_expiry) is None
    late_hash = hash_token(late.plain)
    assert await consume_invite(db, late_hash, now_ms=late_expiry) is False
    assert expires_at_ms == late_expiry
