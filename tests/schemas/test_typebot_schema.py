"""Typebot chat responses (every example) and the handoff callback body."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import PayloadError
from bridge.schemas.typebot import (
    TbMediaBubble,
    TbOtherBubble,
    TbTextBubble,
    parse_continue_chat,
    parse_start_chat,
    parse_typebot_handoff,
)
from tests.contracts_dir import CONTRACTS_DIR, load_contract

EXAMPLES = CONTRACTS_DIR / "typebot" / "examples"
RESPONSES = sorted(EXAMPLES.glob("*Chat.response*.json"))


def test_response_examples_were_found() -> None:
    assert len(RESPONSES) >= 6


@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: Path(p).name)
def test_every_response_example_parses(path: Path) -> None:
    raw = json.loads(path.read_text())
    parsed = (
        parse_start_chat(raw) if path.name.startswith("startChat") else parse_continue_chat(raw)
    )
    assert len(parsed.messages) == len(raw["messages"])
    assert parsed.flow_ended is ("input" not in raw)


def test_start_chat_rich_text_and_choice() -> None:
    parsed = parse_start_chat(load_contract("typebot/examples/startChat.response.richText.json"))
    assert parsed.session_id == "y3nq8w1k0c5v7m2b9x4z6a1d"
    bubble = parsed.messages[1]
    assert isinstance(bubble, TbTextBubble)
    assert bubble.content.type == "richText"
    assert bubble.content.rich_text is not None
    assert bubble.content.rich_text[0]["children"][0]["bold"] is True
    assert parsed.input is not None
    assert parsed.input.is_choice
    assert not parsed.input.is_multiple_choice
    assert [(i.id, i.content) for i in parsed.input.items] == [
        ("p6w0e3r8t1y5u9i2o7a4s0d3", "DTV"),
        ("f5g9h2j6k0l4z8x1c7v3b5n9", "Sales"),
    ]


def test_markdown_bubble() -> None:
    parsed = parse_start_chat(load_contract("typebot/examples/startChat.response.markdown.json"))
    bubble = parsed.messages[1]
    assert isinstance(bubble, TbTextBubble)
    assert bubble.content.markdown == "**Choose Department:**"


def test_client_side_action_keeps_type_and_raw() -> None:
    parsed = parse_continue_chat(
        load_contract("typebot/examples/continueChat.response.end-with-chatwoot-block.json")
    )
    action = parsed.client_side_actions[0]
    assert action.type == "chatwoot"
    assert "scriptToExecute" in action.raw["chatwoot"]
    assert parsed.flow_ended


def test_media_other_bubbles_progress_and_dedicated_reply() -> None:
    raw: dict[str, Any] = {
        "messages": [
            {"id": "a", "type": "image", "content": {"url": "https://img.test/a.png"}},
            {"id": "b", "type": "audio", "content": {"url": "https://a.test/b.mp3"}},
            {"id": "c", "type": "custom-embed", "content": {"initFunction": {}}},
        ],
        "clientSideActions": [{"type": "listenForWebhook", "expectsDedicatedReply": True}],
        "progress": 50,
        "lastMessageNewFormat": "dtv",
        "input": {"id": "i", "type": "number input", "prefilledValue": "3"},
    }
    parsed = parse_continue_chat(raw)
    assert isinstance(parsed.messages[0], TbMediaBubble)
    assert parsed.messages[0].content.url == "https://img.test/a.png"
    assert isinstance(parsed.messages[2], TbOtherBubble)
    assert (parsed.progress, parsed.last_message_new_format) == (50, "dtv")
    assert parsed.input is not None
    assert parsed.input.items == []
    del raw["input"]
    assert parse_continue_chat(raw).flow_ended is False  # awaits a dedicated reply


def test_start_chat_without_session_id_is_rejected() -> None:
    raw = load_contract("typebot/examples/startChat.response.markdown.json")
    del raw["sessionId"]
    with pytest.raises(PayloadError) as caught:
        parse_start_chat(raw)
    assert caught.value.path == "sessionId"


def test_bad_text_bubble_names_the_field() -> None:
    raw = {"messages": [{"id": "x", "type": "text", "content": {"type": "html"}}]}
    with pytest.raises(PayloadError) as caught:
        parse_continue_chat(raw)
    assert caught.value.path == "messages.0.content.type"


def test_handoff_body() -> None:
    handoff = parse_typebot_handoff(
        {"bridge_contact": "c_123", "department": " DTV ", "name": "Ana", "extra": 1}
    )
    assert (handoff.bridge_contact, handoff.department, handoff.name) == ("c_123", "DTV", "Ana")
    assert parse_typebot_handoff({"bridge_contact": "c", "department": "Sales"}).name == ""


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"bridge_contact": "c"}, "department"),
        ({"bridge_contact": "c", "department": ""}, "department"),
        ({"bridge_contact": "c", "department": "   "}, "department"),
        ({"bridge_contact": "c", "department": 7}, "department"),
        ({"department": "DTV"}, "bridge_contact"),
        ({"bridge_contact": "c", "department": "DTV", "name": None}, "name"),
    ],
)
def test_invalid_handoff_names_the_field(body: dict[str, Any], path: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_typebot_handoff(body)
    assert caught.value.path == path
