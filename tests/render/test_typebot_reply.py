"""Typebot chat reply (bubbles + choice input) → ordered WhatsApp messages."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.render.choices import ChoiceItem, match_choice
from bridge.render.typebot_reply import (
    TypebotBubble,
    WhatsAppChoicePrompt,
    WhatsAppMedia,
    WhatsAppText,
    bubble_from_message,
    choice_items_from_input,
    render_bubble_text,
    render_typebot_reply,
)
from tests.contracts_dir import load_contract

DTV = ChoiceItem("p6w0e3r8t1y5u9i2o7a4s0d3", "DTV")
SALES = ChoiceItem("f5g9h2j6k0l4z8x1c7v3b5n9", "Sales")


def text_bubble(text: str, **marks: bool) -> TypebotBubble:
    return TypebotBubble("text", rich_text=[{"type": "p", "children": [{"text": text, **marks}]}])


def from_sample(name: str) -> tuple[list[TypebotBubble], list[ChoiceItem] | None]:
    sample: dict[str, Any] = load_contract(f"typebot/examples/{name}")
    bubbles = [b for b in map(bubble_from_message, sample["messages"]) if b is not None]
    return bubbles, choice_items_from_input(sample.get("input"))


@pytest.mark.parametrize(
    "name", ["startChat.response.richText.json", "startChat.response.markdown.json"]
)
def test_start_chat_samples_render_greeting_then_menu(name: str) -> None:
    bubbles, items = from_sample(name)
    assert items == [DTV, SALES]
    assert render_typebot_reply(bubbles, items) == [
        WhatsAppText("Welcome! 👋"),
        WhatsAppText("*Choose Department:*\n\n1. DTV\n2. Sales"),
    ]


def test_menu_numbers_round_trip_through_match_choice() -> None:
    bubbles, items = from_sample("startChat.response.richText.json")
    assert items is not None
    menu = render_typebot_reply(bubbles, items)[-1]
    assert isinstance(menu, WhatsAppText)
    for line in menu.content.split("\n\n")[1].split("\n"):
        number, label = line.split(". ", 1)
        matched = match_choice(number, None, items)
        assert matched is not None
        assert matched.content == label


def test_invalid_reply_sample_reprompts_with_menu() -> None:
    bubbles, items = from_sample("continueChat.response.invalid-reply.json")
    assert render_typebot_reply(bubbles, items) == [
        WhatsAppText("Invalid message. Please, try again.\n\n1. DTV\n2. Sales")
    ]


@pytest.mark.parametrize(
    "name",
    [
        "continueChat.response.end.json",
        "continueChat.response.end.markdown.json",
        "continueChat.response.end-with-chatwoot-block.json",
    ],
)
def test_end_samples_have_no_menu(name: str) -> None:
    bubbles, items = from_sample(name)
    assert items is None
    assert render_typebot_reply(bubbles, items) == [
        WhatsAppText(
            "Thanks! We're connecting you to our DTV team. An agent will reply here shortly."
        )
    ]


def test_menu_alone_when_not_merged_or_after_media() -> None:
    items = [DTV, SALES]
    assert render_typebot_reply([text_bubble("Pick")], items, merge_menu=False) == [
        WhatsAppText("Pick"),
        WhatsAppText("1. DTV\n2. Sales"),
    ]
    image = TypebotBubble("image", url="https://cdn.example.com/a.png")
    assert render_typebot_reply([image], items) == [
        WhatsAppMedia("image", "https://cdn.example.com/a.png"),
        WhatsAppText("1. DTV\n2. Sales"),
    ]
    assert render_typebot_reply([], items) == [WhatsAppText("1. DTV\n2. Sales")]


def test_order_is_kept_and_empty_bubbles_dropped() -> None:
    bubbles = [
        text_bubble("one"),
        TypebotBubble("text", rich_text=[{"type": "p", "children": [{"text": ""}]}]),
        TypebotBubble("text", markdown="  "),
        TypebotBubble("text"),
        TypebotBubble("image", url=None),
        TypebotBubble("audio", url="https://cdn.example.com/v.ogg"),
        text_bubble("two", italic=True),
        TypebotBubble("text", markdown="**three**"),
    ]
    assert render_typebot_reply(bubbles, None) == [
        WhatsAppText("one"),
        WhatsAppMedia("audio", "https://cdn.example.com/v.ogg"),
        WhatsAppText("_two_"),
        WhatsAppText("*three*"),
    ]


@pytest.mark.parametrize(
    ("bubble", "expected"),
    [
        (
            TypebotBubble("image", url=" https://x.io/a.jpg "),
            WhatsAppMedia("image", "https://x.io/a.jpg"),
        ),
        (
            TypebotBubble("image", url="https://x.io/logo.SVG"),
            WhatsAppText("https://x.io/logo.SVG"),
        ),
        (TypebotBubble("image", url="data:image/png;base64,AAA"), None),
        (TypebotBubble("image", url="{{avatar}}"), None),
        (
            TypebotBubble("video", url="https://x.io/v.mp4"),
            WhatsAppMedia("video", "https://x.io/v.mp4"),
        ),
        (
            TypebotBubble("video", url="https://x.io/v.mp4", video_type="url"),
            WhatsAppMedia("video", "https://x.io/v.mp4"),
        ),
        (
            TypebotBubble("video", url="https://youtu.be/abc", video_type="youtube"),
            WhatsAppText("https://youtu.be/abc"),
        ),
        (TypebotBubble("embed", url="https://cal.com/me"), WhatsAppText("https://cal.com/me")),
        (
            TypebotBubble("embed", url="https://x.io/files/Price%20List.PDF?v=2"),
            WhatsAppMedia(
                "document", "https://x.io/files/Price%20List.PDF?v=2", file_name="Price%20List.PDF"
            ),
        ),
    ],
)
def test_media_bubbles(
    bubble: TypebotBubble, expected: WhatsAppText | WhatsAppMedia | None
) -> None:
    assert render_typebot_reply([bubble], None) == ([expected] if expected else [])


def test_buttons_mode_uses_last_text_as_prompt() -> None:
    rendered = render_typebot_reply(
        [text_bubble("Welcome"), text_bubble("Choose:", bold=True)], [DTV, SALES], buttons=True
    )
    assert rendered == [
        WhatsAppText("Welcome"),
        WhatsAppChoicePrompt("*Choose:*", (DTV, SALES), "buttons"),
    ]


def test_buttons_mode_switches_to_list_past_three_and_uses_default_prompt() -> None:
    items = [ChoiceItem(str(i), f"Option {i}") for i in range(4)]
    assert render_typebot_reply([], items, buttons=True, default_prompt="Pick one") == [
        WhatsAppChoicePrompt("Pick one", tuple(items), "list")
    ]


def test_choice_input_without_labelled_items_adds_nothing() -> None:
    assert render_typebot_reply([text_bubble("Hi")], [ChoiceItem("a", "")]) == [WhatsAppText("Hi")]


def test_bubble_from_message_variants() -> None:
    assert bubble_from_message(
        {"type": "text", "content": {"type": "markdown", "markdown": "x"}}
    ) == (TypebotBubble("text", markdown="x"))
    video = {"type": "video", "content": {"url": "https://youtu.be/a", "type": "youtube"}}
    assert bubble_from_message(video) == TypebotBubble(
        "video", url="https://youtu.be/a", video_type="youtube"
    )
    custom = {"type": "custom-embed", "content": {"url": "https://cal.com/x", "initFunction": {}}}
    assert bubble_from_message(custom) == TypebotBubble("embed", url="https://cal.com/x")
    assert bubble_from_message({"type": "image", "content": {"url": 5}}) == TypebotBubble("image")
    assert bubble_from_message({"type": "text"}) is None
    assert bubble_from_message({"type": "hologram", "content": {}}) is None


def test_choice_items_from_input_variants() -> None:
    assert choice_items_from_input(None) is None
    assert choice_items_from_input({"type": "text input"}) is None
    single: dict[str, Any] = {"type": "choice input", "items": [{"id": "a", "content": "A"}]}
    assert choice_items_from_input(single) == [ChoiceItem("a", "A")]
    single["options"] = {"isMultipleChoice": True}
    assert choice_items_from_input(single) is None
    odd = {"type": "choice input", "items": [{"id": "a"}, {"content": "no id"}, "junk"]}
    assert choice_items_from_input(odd) == [ChoiceItem("a", "")]
    assert choice_items_from_input({"type": "choice input"}) == []


def test_render_bubble_text_prefers_rich_text() -> None:
    both = TypebotBubble(
        "text",
        rich_text=[{"type": "p", "children": [{"text": "rich", "bold": True}]}],
        markdown="**md**",
    )
    assert render_bubble_text(both) == "*rich*"
    assert render_bubble_text(TypebotBubble("text", markdown="\n**md**\n")) == "*md*"
