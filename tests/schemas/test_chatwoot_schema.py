"""Chatwoot webhook models against the example payloads, plus invalid payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import PayloadError
from bridge.schemas.chatwoot import (
    CwConversationEvent,
    CwMessageEvent,
    CwOtherEvent,
    parse_chatwoot_webhook,
)
from tests.contracts_dir import CONTRACTS_DIR, load_contract

EXAMPLES = CONTRACTS_DIR / "chatwoot" / "examples"
WEBHOOKS = sorted(p for p in EXAMPLES.glob("*.json") if "event" in json.loads(p.read_text()))


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_contract(f"chatwoot/examples/{name}")
    return data


def test_webhook_examples_were_found() -> None:
    assert len(WEBHOOKS) >= 4


@pytest.mark.parametrize("path", WEBHOOKS, ids=lambda p: Path(p).name)
def test_every_webhook_example_parses(path: Path) -> None:
    raw = json.loads(path.read_text())
    event = parse_chatwoot_webhook(raw)
    if raw["event"].startswith("message_"):
        assert isinstance(event, CwMessageEvent)
        assert event.conversation.cw_conversation_id == raw["conversation"]["id"]
    else:
        assert isinstance(event, CwConversationEvent)
        assert event.status == raw["status"]


def test_incoming_message_fields() -> None:
    event = parse_chatwoot_webhook(example("agent_bot.message_created.incoming.json"))
    assert isinstance(event, CwMessageEvent)
    assert event.message_type == "incoming"
    assert event.source_id == "WAID:3EB0FAKE0000000000000001"
    assert event.conversation.status == "pending"
    assert event.conversation.contact_inbox is not None
    assert event.conversation.contact_inbox.source_id == "15550100123@s.whatsapp.net"
    assert event.conversation.meta.sender is not None
    assert event.conversation.meta.sender.phone_number == "+15550100123"


def test_agent_reply_fields() -> None:
    event = parse_chatwoot_webhook(example("api_inbox.message_created.outgoing.json"))
    assert isinstance(event, CwMessageEvent)
    assert (event.message_type, event.private) == ("outgoing", False)
    assert event.sender is not None
    assert event.sender.type == "user"
    assert event.inbox is not None
    assert event.inbox.id == 7


def test_integer_message_type_and_attachments() -> None:
    raw = example("api_inbox.message_created.outgoing.json")
    raw["message_type"] = 3
    raw["content_attributes"] = None
    raw["attachments"] = [
        {"id": 1, "file_type": "image", "data_url": "https://cw.test/rails/x.png", "extra": 1}
    ]
    event = parse_chatwoot_webhook(raw)
    assert isinstance(event, CwMessageEvent)
    assert event.message_type == "template"
    assert event.content_attributes == {}
    assert event.attachments[0].data_url == "https://cw.test/rails/x.png"


def test_conversation_updated_changed_attributes() -> None:
    raw = example("conversation_status_changed.bot_handoff.json")
    raw["event"] = "conversation_updated"
    raw["changed_attributes"] = [{"status": {"previous_value": "pending", "current_value": "open"}}]
    event = parse_chatwoot_webhook(raw)
    assert isinstance(event, CwConversationEvent)
    assert event.changed("status") == ("pending", "open")
    assert event.changed("team_id") is None


@pytest.mark.parametrize("name", ["conversation_opened", "conversation_resolved"])
def test_legacy_conversation_events(name: str) -> None:
    raw = {**example("conversation_status_changed.bot_handoff.json"), "event": name}
    event = parse_chatwoot_webhook(raw)
    assert isinstance(event, CwConversationEvent)
    assert event.event == name


def test_other_events_are_acknowledged() -> None:
    event = parse_chatwoot_webhook({"event": "conversation_typing_on", "user": {}})
    assert isinstance(event, CwOtherEvent)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda r: {k: v for k, v in r.items() if k != "conversation"}, "conversation"),
        (lambda r: {**r, "message_type": "sideways"}, "message_type"),
        (lambda r: {**r, "conversation": {**r["conversation"], "id": "x"}}, "conversation.id"),
        (lambda r: {k: v for k, v in r.items() if k != "id"}, "id"),
    ],
)
def test_invalid_message_event_names_the_field(mutate: Any, path: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_chatwoot_webhook(mutate(example("agent_bot.message_created.incoming.json")))
    assert caught.value.path == path


def test_missing_event_is_rejected() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_chatwoot_webhook({"id": 1})
    assert caught.value.path == "event"
