"""Per-contact serialisation: many concurrent triggers on one contact lose no update."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bridge.ids import ContactKey, InstanceName, WaJid
from bridge.state import ContactState, Direction, SqlRepository, TranscriptEntry, fire
from bridge.state.database import lock_name
from bridge.state.locks import KeyedLocks
from bridge.state.sql import pg_begin_locked_sql
from bridge.state.sqlite import SqliteDatabase
from tests.fakes import OpenRepo

NEXT = {
    ContactState.BOT_HANDLED: "triage",
    ContactState.TRIAGED: "hand_off",
    ContactState.AGENT_HANDLED: "resolve",
}


async def _step(repo: SqlRepository, contact_id: int, n: int) -> None:
    async with repo.transaction(lock=contact_id):
        contact = await repo.get_contact(contact_id)  # read only once the lock is held
        assert contact is not None
        await asyncio.sleep(0)  # invite interleaving: another task must not sneak in here
        transition = fire(contact, NEXT[contact.state], department="DTV", cw_conversation_id=n)
        await repo.save_contact(contact)
        await repo.record_transition(transition)
        await repo.append_transcript(TranscriptEntry(contact_id, Direction.INBOUND, f"m{n}"))


@pytest.mark.parametrize("replicas", [1, 2])
async def test_200_concurrent_triggers_on_one_contact(
    repo: SqlRepository, open_repo: OpenRepo, replicas: int
) -> None:
    repos = [repo] + [await open_repo() for _ in range(replicas - 1)]
    contact = await repo.resolve_contact(
        InstanceName("main"), WaJid("27820000001@s.whatsapp.net"), None
    )
    await asyncio.gather(*(_step(repos[n % replicas], contact.id, n) for n in range(200)))

    transcript = await repo.list_transcript(contact.id)
    assert [t.seq for t in transcript] == list(range(1, 201))
    assert sorted(t.body for t in transcript) == sorted(f"m{n}" for n in range(200))
    history = await repo.list_transitions(contact.id, limit=1000)
    assert len(history) == 200
    assert history[0].from_state is ContactState.BOT_HANDLED
    for before, after in itertools.pairwise(history):
        assert after.from_state is before.to_state
        assert after.trigger == NEXT[before.to_state]
    final = await repo.get_contact(contact.id)
    assert final is not None
    assert final.state is history[-1].to_state
    assert final.state is ContactState.AGENT_HANDLED  # 66 full cycles + triage + hand_off
    for r in repos:
        if isinstance(r.database, SqliteDatabase):
            assert len(r.database.locks) == 0  # idle lock entries are dropped


async def test_different_contacts_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    inside: set[str] = set()
    both_inside = asyncio.Event()

    async def hold(key: str) -> None:
        async with locks.hold(key):
            inside.add(key)
            if len(inside) == 2:
                both_inside.set()
            await both_inside.wait()

    await asyncio.wait_for(asyncio.gather(hold("contact:1"), hold("contact:2")), 5)
    assert inside == {"contact:1", "contact:2"}
    assert len(locks) == 0


async def test_same_key_is_exclusive_and_registry_empties() -> None:
    locks = KeyedLocks()
    active = 0
    peak = 0

    async def hold() -> None:
        nonlocal active, peak
        async with locks.hold("contact:1"):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0)
            active -= 1

    await asyncio.gather(*(hold() for _ in range(50)))
    assert peak == 1
    assert len(locks) == 0


def test_lock_names_keep_kinds_apart() -> None:
    key = ContactKey(InstanceName("main"), WaJid("1@lid"))
    names = {lock_name(7), lock_name("7"), lock_name(key), lock_name("identity:main")}
    assert len(names) == 4
    assert lock_name(7) == "contact:7"
    assert lock_name(key) == "jid:main/1@lid"


async def test_contact_key_lock_serialises_like_an_id(repo: SqlRepository) -> None:
    key = ContactKey(InstanceName("main"), WaJid("27820000001@s.whatsapp.net"))
    contact = await repo.resolve_contact(key.instance, key.wa_jid, None)

    async def append(n: int) -> None:
        async with repo.transaction(lock=key):
            await asyncio.sleep(0)
            await repo.append_transcript(TranscriptEntry(contact.id, Direction.OUTBOUND, f"{n}"))

    await asyncio.gather(*(append(n) for n in range(20)))
    assert [t.seq for t in await repo.list_transcript(contact.id)] == list(range(1, 21))


def test_postgres_begin_and_lock_quote_the_name_as_a_literal() -> None:
    assert pg_begin_locked_sql("contact:7") == (
        "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended('contact:7', 0))"
    )
    assert "'it''s'" in pg_begin_locked_sql("it's")
    assert "E'a\\\\b'" in pg_begin_locked_sql("a\\b")
    with pytest.raises(ValueError, match="NUL"):
        pg_begin_locked_sql("a\x00b")


@pytest.mark.postgres
async def test_postgres_hostile_lock_name_still_excludes_across_replicas(
    open_repo: OpenRepo, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        return  # the in-process locks of SQLite take any name; this is about the SQL literal
    replicas = [await open_repo(), await open_repo()]
    hostile = "x'); SELECT pg_sleep(10); --\\'"
    inside = peak = 0

    async def hold(repo: SqlRepository) -> None:
        nonlocal inside, peak
        async with repo.transaction(lock=hostile):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.wait_for(asyncio.gather(*(hold(replicas[n % 2]) for n in range(8))), timeout=5.0)
    assert peak == 1
    # The literal names the same lock as the parameterised PG_LOCK_SQL (nested transactions).
    async with replicas[0].transaction(lock=hostile), replicas[1].transaction():
        taken = await replicas[1]._db.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", lock_name(hostile)
        )
    assert taken is False
