"""Placing late customer messages by WhatsApp's timestamp in the handoff transcript."""

from __future__ import annotations

from bridge.flows.chatwoot_handoff import place_by_timestamp
from bridge.ids import WaMessageId
from bridge.state.records import Direction, TranscriptEntry


def _entry(seq: int, direction: Direction, body: str, ts: int | None = None) -> TranscriptEntry:
    return TranscriptEntry(
        contact_id=1,
        direction=direction,
        body=body,
        seq=seq,
        wa_timestamp_ms=ts,
        wa_message_id=WaMessageId(f"id{seq}") if direction == Direction.INBOUND else None,
    )


def test_late_retry_is_placed_before_the_newer_message() -> None:
    entries = [
        _entry(1, Direction.INBOUND, "Hi", 1_000),
        _entry(2, Direction.OUTBOUND, "menu"),
        _entry(3, Direction.INBOUND, "second", 9_000),  # arrived first
        _entry(4, Direction.INBOUND, "first", 5_000),  # Evolution's late retry
        _entry(5, Direction.OUTBOUND, "bye"),
    ]
    assert [e.body for e in place_by_timestamp(entries)] == ["Hi", "menu", "first", "second", "bye"]


def test_bot_lines_never_move() -> None:
    entries = [
        _entry(1, Direction.INBOUND, "a", 9_000),
        _entry(2, Direction.OUTBOUND, "bot"),
        _entry(3, Direction.INBOUND, "b", 1_000),
    ]
    assert [e.body for e in place_by_timestamp(entries)] == ["a", "bot", "b"]
