"""Evolution webhook models against every captured/constructed sample, plus invalid payloads."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import PayloadError
from bridge.schemas.evolution import (
    ConnectionUpdateEvent,
    MessagesDeleteEvent,
    MessagesEditedEvent,
    MessagesUpdateEvent,
    MessagesUpsertEvent,
    OtherEvolutionEvent,
    SendMessageEvent,
    normalise_event_name,
    parse_evolution_webhook,
)
from tests.contracts_dir import CONTRACTS_DIR, load_contract

EVOLUTION = CONTRACTS_DIR / "evolution"
WEBHOOK_SAMPLES = sorted(
    [
        *EVOLUTION.glob("messages-*.json"),
        *EVOLUTION.glob("send-message-event*.json"),
        *EVOLUTION.glob("connection-update-*.json"),
    ]
)
EXPECTED_TYPE = {
    "messages.upsert": MessagesUpsertEvent,
    "send.message": SendMessageEvent,
    "messages.update": MessagesUpdateEvent,
    "messages.delete": MessagesDeleteEvent,
    "messages.edited": MessagesEditedEvent,
    "connection.update": ConnectionUpdateEvent,
}


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_contract(f"evolution/{name}")
    return data


def test_samples_were_found() -> None:
    assert len(WEBHOOK_SAMPLES) >= 25


@pytest.mark.parametrize("path", WEBHOOK_SAMPLES, ids=lambda p: Path(p).name)
def test_every_webhook_sample_parses(path: Path) -> None:
    raw = load_contract(f"evolution/{path.name}")
    event = parse_evolution_webhook(raw)
    assert isinstance(event, EXPECTED_TYPE[raw["event"]])
    assert event.instance == "inst-demo"
    if isinstance(event, MessagesUpsertEvent | SendMessageEvent):
        assert event.data.key.id == raw["data"]["key"]["id"]
        assert isinstance(event.data.message_timestamp, int)
        assert event.data.message_timestamp == raw["data"]["messageTimestamp"]


@pytest.mark.parametrize(
    ("name", "phone", "lid"),
    [
        # 2.3.7: remoteJid rewritten to the phone JID, remoteJidAlt also the phone.
        ("messages-upsert-text.json", "5511912345678@s.whatsapp.net", None),
        # 2.3.5–2.3.6: remoteJid is the LID, the phone is in remoteJidAlt.
        (
            "messages-upsert-text-lid-raw.json",
            "5511912345678@s.whatsapp.net",
            "123456789012345@lid",
        ),
        # LID-only contact: no phone anywhere.
        ("messages-upsert-text-lid-only.json", None, "123456789012345@lid"),
        # PN-addressed / 2.4-rc swap: the LID is in remoteJidAlt.
        (
            "messages-upsert-text-pn-addressed.json",
            "5511912345678@s.whatsapp.net",
            "123456789012345@lid",
        ),
    ],
)
def test_key_phone_and_lid_per_version(name: str, phone: str | None, lid: str | None) -> None:
    event = parse_evolution_webhook(sample(name))
    assert isinstance(event, MessagesUpsertEvent)
    assert event.data.key.phone_jid == phone
    assert event.data.key.lid == lid
    assert not event.data.key.is_group


def test_legacy_sender_pn_is_the_phone() -> None:
    raw = sample("messages-upsert-text-lid-only.json")
    raw["data"]["key"]["senderPn"] = "5511912345678@s.whatsapp.net"
    event = parse_evolution_webhook(raw)
    assert isinstance(event, MessagesUpsertEvent)
    assert event.data.key.phone_jid == "5511912345678@s.whatsapp.net"


def test_group_broadcast_newsletter_flags() -> None:
    group = parse_evolution_webhook(sample("messages-upsert-group.json"))
    assert isinstance(group, MessagesUpsertEvent)
    assert group.data.key.is_group
    assert group.data.key.author_jid == "5511987654321@s.whatsapp.net"
    for jid, attr in (("status@broadcast", "is_broadcast"), ("1203@newsletter", "is_newsletter")):
        raw = sample("messages-upsert-text.json")
        raw["data"]["key"]["remoteJid"] = jid
        event = parse_evolution_webhook(raw)
        assert isinstance(event, MessagesUpsertEvent)
        assert getattr(event.data.key, attr) is True
        assert event.data.key.is_group is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1782169148, 1782169148),
        ("1782169148", 1782169148),
        ({"low": 1782169148, "high": 0, "unsigned": True}, 1782169148),
        (1782169148123, 1782169148),  # milliseconds are normalised to seconds
    ],
)
def test_message_timestamp_encodings(value: object, expected: int) -> None:
    raw = sample("messages-upsert-text.json")
    raw["data"]["messageTimestamp"] = value
    event = parse_evolution_webhook(raw)
    assert isinstance(event, MessagesUpsertEvent)
    assert event.data.message_timestamp == expected


def test_signed_long_object_is_decoded() -> None:
    event = parse_evolution_webhook(sample("messages-edited.json"))
    assert isinstance(event, MessagesEditedEvent)
    assert event.data.timestamp_ms == 1782169200000
    assert event.data.edited_message is not None
    assert event.data.edited_message.conversation is not None


def test_receipt_matches_on_key_id() -> None:
    event = parse_evolution_webhook(sample("messages-update.json"))
    assert isinstance(event, MessagesUpdateEvent)
    assert event.data.key_id == "3EB0F00000000000000001"
    assert event.data.status == "READ"


def test_connection_states() -> None:
    opened = parse_evolution_webhook(sample("connection-update-open.json"))
    closed = parse_evolution_webhook(sample("connection-update-close.json"))
    assert isinstance(opened, ConnectionUpdateEvent)
    assert isinstance(closed, ConnectionUpdateEvent)
    assert (opened.data.state, closed.data.state, closed.data.status_reason) == (
        "open",
        "close",
        401,
    )


def test_apikey_is_never_shown() -> None:
    event = parse_evolution_webhook(sample("messages-upsert-text-lid-raw.json"))
    assert "FAKE-INSTANCE-TOKEN" not in repr(event)
    assert event.apikey is not None
    assert event.apikey.get_secret_value() == "FAKE-INSTANCE-TOKEN"


def test_unknown_and_dash_form_events() -> None:
    other = parse_evolution_webhook(sample("typebot-change-status-event.json"))
    assert isinstance(other, OtherEvolutionEvent)
    assert other.event == "typebot.change-status"
    raw = sample("messages-upsert-text.json")
    raw["event"] = "MESSAGES_UPSERT"
    assert isinstance(parse_evolution_webhook(raw), MessagesUpsertEvent)
    assert normalise_event_name("messages-upsert") == "messages.upsert"


def test_unknown_top_level_keys_are_ignored() -> None:
    raw = sample("messages-upsert-text.json")
    raw["isLatest"] = True
    raw["data"]["chatwootMessageId"] = 7
    raw["data"]["message"]["pollCreationMessageV9"] = {"x": 1}
    assert isinstance(parse_evolution_webhook(raw), MessagesUpsertEvent)


def _without(raw: dict[str, Any], *path: str) -> dict[str, Any]:
    broken = copy.deepcopy(raw)
    node = broken
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return broken


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: _without(r, "data", "key", "id"), "data.key.id"),
        (lambda r: _without(r, "data", "key", "remoteJid"), "data.key.remoteJid"),
        (lambda r: _without(r, "data", "messageTimestamp"), "data.messageTimestamp"),
        (
            lambda r: {**r, "data": {**r["data"], "messageTimestamp": "soon"}},
            "data.messageTimestamp",
        ),
        (lambda r: _without(r, "instance"), "instance"),
        (lambda r: {**r, "data": None}, "data"),
    ],
)
def test_invalid_upsert_names_the_field(mutate: Any, path: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_evolution_webhook(mutate(sample("messages-upsert-text.json")))
    assert caught.value.path == path
    assert path in str(caught.value)


def test_receipt_without_key_id_is_rejected() -> None:
    raw = sample("messages-update.json")
    del raw["data"]["keyId"]
    with pytest.raises(PayloadError) as caught:
        parse_evolution_webhook(raw)
    assert caught.value.path == "data.keyId"


def test_non_object_body_is_rejected() -> None:
    with pytest.raises(PayloadError):
        parse_evolution_webhook(["not", "an", "object"])


@pytest.mark.parametrize(
    "value",
    [
        {"low": None, "high": 0},
        {"low": 1, "high": "x"},
        {"low": True, "high": 0},
        {"low": 1.5, "high": 0},
    ],
)
def test_malformed_long_object_is_a_payload_error(value: object) -> None:
    # Found by the hostile-input suite: a null word used to crash with a 500 (int(None)).
    raw = sample("messages-upsert-text.json")
    raw["data"]["messageTimestamp"] = value
    with pytest.raises(PayloadError):
        parse_evolution_webhook(raw)
