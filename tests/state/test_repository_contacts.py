"""Repository contract, contact side: identity (phone JID / LID merge), transcripts, links."""

from __future__ import annotations

import pytest

from bridge.errors import PayloadError
from bridge.ids import ContactKey, CwConversationId, CwMessageId, InstanceName, WaJid, WaMessageId
from bridge.state import (
    ContactState,
    Direction,
    InboundEvent,
    MessageLink,
    OutboxItem,
    SqlRepository,
    TranscriptEntry,
    fire,
)
from tests.fakes import FakeClock

INSTANCE = InstanceName("main")
PHONE = WaJid("27820000001@s.whatsapp.net")
LID = WaJid("123456789012345@lid")


async def test_resolve_creates_once_and_finds_by_either_alias(repo: SqlRepository) -> None:
    created = await repo.resolve_contact(INSTANCE, PHONE, None, "Kay")
    again = await repo.resolve_contact(INSTANCE, PHONE, None, "Kay")
    assert created.id == again.id
    assert (created.wa_jid, created.state, created.push_name) == (
        PHONE,
        ContactState.BOT_HANDLED,
        "Kay",
    )
    by_alias = await repo.get_contact_by_alias(ContactKey(INSTANCE, PHONE))
    assert by_alias is not None
    assert by_alias.id == created.id
    assert await repo.get_contact_by_alias(ContactKey(InstanceName("other"), PHONE)) is None


async def test_lid_only_contact_gains_phone_without_new_contact(repo: SqlRepository) -> None:
    lid_only = await repo.resolve_contact(INSTANCE, None, LID)
    assert lid_only.wa_jid == LID
    both = await repo.resolve_contact(INSTANCE, PHONE, LID, "Kay")
    assert both.id == lid_only.id
    assert (both.wa_jid, both.wa_phone_jid, both.wa_lid) == (PHONE, PHONE, LID)
    for jid in (PHONE, LID):
        found = await repo.get_contact_by_alias(ContactKey(INSTANCE, jid))
        assert found is not None
        assert found.id == lid_only.id


@pytest.mark.parametrize("first", ["phone", "lid"])
async def test_two_contacts_merge_into_the_older(
    repo: SqlRepository, clock: FakeClock, first: str
) -> None:
    a = await repo.resolve_contact(
        INSTANCE, PHONE if first == "phone" else None, LID if first == "lid" else None, "Kay"
    )
    clock.advance(1000)
    b = await repo.resolve_contact(
        INSTANCE, None if first == "phone" else PHONE, None if first == "lid" else LID
    )
    assert a.id != b.id
    # Each half has history: transcript, events, outbox, links, a transition.
    for contact, body in ((a, "hi from a"), (b, "hi from b")):
        await repo.append_transcript(TranscriptEntry(contact.id, Direction.INBOUND, body))
        await repo.record_inbound(
            InboundEvent("evolution", f"ev-{contact.id}", "k", {}, contact.id)
        )
        await repo.enqueue(OutboxItem("evolution.send_text", f"out-{contact.id}", {}, contact.id))
        clock.advance(10)
    await repo.link_message(
        MessageLink(WaMessageId("wa-b"), CwMessageId(1), Direction.INBOUND, b.id)
    )
    async with repo.transaction(lock=b.id):
        b_now = await repo.get_contact(b.id)
        assert b_now is not None
        await repo.record_transition(fire(b_now, "triage", department="DTV"))
        await repo.save_contact(b_now)

    merged = await repo.resolve_contact(INSTANCE, PHONE, LID, "Kay N")
    assert merged.id == a.id
    assert await repo.get_contact(b.id) is None
    assert (merged.wa_jid, merged.wa_phone_jid, merged.wa_lid) == (PHONE, PHONE, LID)
    assert merged.state is ContactState.TRIAGED  # the further-along half wins
    assert merged.department == "DTV"
    assert merged.push_name == "Kay N"
    for jid in (PHONE, LID):
        found = await repo.get_contact_by_alias(ContactKey(INSTANCE, jid))
        assert found is not None
        assert found.id == a.id
    transcript = await repo.list_transcript(a.id)
    assert [(t.seq, t.body) for t in transcript] == [(1, "hi from a"), (2, "hi from b")]
    assert await repo.next_inbound(a.id) is not None
    assert await repo.next_inbound(b.id) is None
    link = await repo.find_link_by_wa(WaMessageId("wa-b"))
    assert link is not None
    assert link.contact_id == a.id
    claimed = await repo.claim_due(clock.now_ms(), 10, 1000, "w")
    assert [i.dedupe_key for i in claimed] == [f"out-{a.id}"]  # one contact now: FIFO holds b's
    history = await repo.list_transitions(a.id)
    assert [t.trigger for t in history] == ["triage", "merge"]
    assert history[-1].from_state is ContactState.BOT_HANDLED
    assert history[-1].to_state is ContactState.TRIAGED
    assert str(b.id) in history[-1].reason


async def test_resolve_rejects_bad_jids(repo: SqlRepository) -> None:
    with pytest.raises(PayloadError):
        await repo.resolve_contact(INSTANCE, None, None)
    with pytest.raises(PayloadError):
        await repo.resolve_contact(INSTANCE, WaJid("123@lid"), None)
    with pytest.raises(PayloadError):
        await repo.resolve_contact(INSTANCE, None, WaJid("123@s.whatsapp.net"))


async def test_save_and_get_contact_round_trip(repo: SqlRepository, clock: FakeClock) -> None:
    contact = await repo.resolve_contact(INSTANCE, PHONE, None)
    contact.department = "Sales"
    contact.cw_contact_id = 11  # type: ignore[assignment]
    contact.cw_conversation_id = CwConversationId(12)
    contact.cw_inbox_id = 13  # type: ignore[assignment]
    contact.tb_session_id = "tb-1"  # type: ignore[assignment]
    contact.tb_session_at_ms = 5
    contact.bot_paused = True
    clock.advance(50)
    await repo.save_contact(contact)
    loaded = await repo.get_contact(contact.id)
    assert loaded is not None
    assert (loaded.department, loaded.cw_contact_id, loaded.cw_conversation_id) == ("Sales", 11, 12)
    assert (loaded.cw_inbox_id, loaded.tb_session_id, loaded.tb_session_at_ms) == (13, "tb-1", 5)
    assert loaded.bot_paused is True
    assert loaded.updated_at_ms == clock.now_ms()
    by_conversation = await repo.find_contact_by_conversation(CwConversationId(12))
    assert by_conversation is not None
    assert by_conversation.id == contact.id


async def test_transcript_is_ordered_per_contact(repo: SqlRepository) -> None:
    one = await repo.resolve_contact(INSTANCE, PHONE, None)
    two = await repo.resolve_contact(INSTANCE, None, LID)
    for i in range(3):
        await repo.append_transcript(TranscriptEntry(one.id, Direction.INBOUND, f"in {i}"))
        await repo.append_transcript(
            TranscriptEntry(one.id, Direction.OUTBOUND, f"out {i}", wa_timestamp_ms=i)
        )
    entry = await repo.append_transcript(
        TranscriptEntry(two.id, Direction.INBOUND, "x", kind="image", media_url="http://m/1")
    )
    assert entry.seq == 1
    assert entry.id > 0
    rows = await repo.list_transcript(one.id)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r.body for r in rows][:2] == ["in 0", "out 0"]
    assert rows[1].direction is Direction.OUTBOUND
    assert rows[1].wa_timestamp_ms == 0
    (other,) = await repo.list_transcript(two.id)
    assert (other.kind, other.media_url) == ("image", "http://m/1")


async def test_message_link_unique_on_both_sides(repo: SqlRepository) -> None:
    contact = await repo.resolve_contact(INSTANCE, PHONE, None)
    first = MessageLink(
        WaMessageId("wa-1"), CwMessageId(100), Direction.OUTBOUND, contact.id, CwConversationId(9)
    )
    assert await repo.link_message(first) is True
    assert (
        await repo.link_message(
            MessageLink(WaMessageId("wa-1"), CwMessageId(101), Direction.OUTBOUND)
        )
        is False
    )
    assert (
        await repo.link_message(
            MessageLink(WaMessageId("wa-2"), CwMessageId(100), Direction.INBOUND)
        )
        is False
    )
    by_wa = await repo.find_link_by_wa(WaMessageId("wa-1"))
    by_cw = await repo.find_link_by_cw(CwMessageId(100))
    assert by_wa is not None
    assert by_cw is not None
    assert by_wa.id == by_cw.id == first.id
    assert (by_cw.wa_message_id, by_cw.cw_conversation_id, by_cw.contact_id) == (
        "wa-1",
        9,
        contact.id,
    )
    assert await repo.find_link_by_wa(WaMessageId("wa-2")) is None
    assert await repo.find_link_by_cw(CwMessageId(101)) is None


async def test_transition_history_keeps_last_n_in_order(repo: SqlRepository) -> None:
    contact = await repo.resolve_contact(INSTANCE, PHONE, None)
    for _ in range(3):
        await repo.record_transition(fire(contact, "triage", department="DTV"))
        await repo.record_transition(fire(contact, "resolve"))
    history = await repo.list_transitions(contact.id)
    assert [t.trigger for t in history] == ["triage", "resolve"] * 3
    last_two = await repo.list_transitions(contact.id, limit=2)
    assert [t.id for t in last_two] == [t.id for t in history[-2:]]
