"""Typebot rich text → WhatsApp text."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.render.richtext import decode_entities, plain_text, render_rich_text
from tests.contracts_dir import load_contract


def p(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": "p", "children": list(children)}


def t(text: str, **marks: bool) -> dict[str, Any]:
    return {"text": text, **marks}


def li(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": "li", "children": [{"type": "lic", "children": list(children)}]}


def test_sample_start_chat_bubbles() -> None:
    sample = load_contract("typebot/examples/startChat.response.richText.json")
    rendered = [render_rich_text(m["content"]["richText"]) for m in sample["messages"]]
    assert rendered == ["Welcome! 👋", "*Choose Department:*"]


def test_sample_variable_leaves_are_joined() -> None:
    sample = load_contract("typebot/examples/continueChat.response.end.json")
    text = render_rich_text(sample["messages"][0]["content"]["richText"])
    assert text == "Thanks! We're connecting you to our DTV team. An agent will reply here shortly."


def test_typebot_whatsapp_flavour_example() -> None:
    # The upstream test case for flavour "whatsapp".
    nodes = [p(t("bold", bold=True)), p(t("")), p(t("italic", italic=True))]
    assert render_rich_text(nodes) == "*bold*\n\n_italic_"


@pytest.mark.parametrize(
    ("leaf", "expected"),
    [
        (t("x", bold=True), "*x*"),
        (t("x", italic=True), "_x_"),
        (t("x", strikethrough=True), "~x~"),
        (t("x", strikeThrough=True), "~x~"),
        (t("x", underline=True), "x"),
        (t("x", code=True), "```x```"),
        (t("x", code=True, bold=True), "```x```"),
        (t("x", bold=True, italic=True), "*_x_*"),
        (t("x", bold=True, italic=True, strikethrough=True), "*_~x~_*"),
    ],
)
def test_marks(leaf: dict[str, Any], expected: str) -> None:
    assert render_rich_text([p(leaf)]) == expected


def test_spaces_move_outside_markers() -> None:
    nodes = [p(t("Hi"), t("  bold  ", bold=True), t("end"))]
    assert render_rich_text(nodes) == "Hi  *bold*  end"


def test_whitespace_only_leaf_is_never_decorated() -> None:
    assert render_rich_text([p(t("a"), t("   ", bold=True), t("b"))]) == "a   b"


def test_adjacent_leaves_with_same_marks_share_markers() -> None:
    nodes = [p(t("Hel", bold=True), t("lo", bold=True), t(" world", bold=True))]
    assert render_rich_text(nodes) == "*Hello world*"


def test_nested_marks_open_and_close_in_order() -> None:
    nodes = [p(t("very ", bold=True), t("important", bold=True, italic=True), t(" note"))]
    assert render_rich_text(nodes) == "*very _important_* note"


def test_marks_separated_by_plain_space() -> None:
    assert render_rich_text([p(t("a", bold=True), t(" "), t("b", bold=True))]) == "*a* *b*"


def test_marks_do_not_span_newlines() -> None:
    assert render_rich_text([p(t("one\n\ntwo", bold=True))]) == "*one*\n\n*two*"


def test_link_with_label() -> None:
    link = {"type": "a", "url": "https://example.com/a", "children": [t("our site")]}
    assert render_rich_text([p(t("See "), link, t("!"))]) == "See our site (https://example.com/a)!"


@pytest.mark.parametrize(
    "label", ["https://example.com", "example.com", "HTTPS://EXAMPLE.COM/", "", "  "]
)
def test_link_label_equal_to_url_or_empty_gives_url(label: str) -> None:
    link = {"type": "a", "url": "https://example.com", "children": [t(label)]}
    assert render_rich_text([p(t(""), link, t(""))]) == "https://example.com"


def test_link_with_bold_label_and_missing_url() -> None:
    bold_link = {"type": "a", "url": "https://x.io", "children": [t("Yo", bold=True)]}
    assert render_rich_text([p(bold_link)]) == "*Yo* (https://x.io)"
    assert render_rich_text([p({"type": "a", "children": [t("just text")]})]) == "just text"


def test_link_closes_open_marks() -> None:
    link = {"type": "a", "url": "https://x.io", "children": [t("here")]}
    assert render_rich_text([p(t("click ", bold=True), link)]) == "*click* here (https://x.io)"


def test_lists() -> None:
    nodes = [
        {"type": "ol", "children": [li(t("One")), li(t("Two", bold=True))]},
        {"type": "ul", "children": [li(t("Apple")), li(t("Pear"))]},
        p(t("after")),
    ]
    assert render_rich_text(nodes) == "1. One\n2. *Two*\n\n- Apple\n- Pear\nafter"


def test_nested_list_is_indented() -> None:
    inner = {"type": "ul", "children": [li(t("sub"))]}
    outer_item = {
        "type": "li",
        "children": [{"type": "lic", "children": [t("top")]}, inner],
    }
    nodes = [{"type": "ol", "children": [outer_item, li(t("next"))]}]
    assert render_rich_text(nodes) == "1. top\n   - sub\n2. next"


def test_list_item_without_lic() -> None:
    nodes = [{"type": "ul", "children": [{"type": "li", "children": [t("bare")]}]}]
    assert render_rich_text(nodes) == "- bare"


def test_empty_paragraphs_are_blank_lines_and_trimmed_at_edges() -> None:
    nodes = [p(t("")), p(t("Hello")), p(t("")), p(t("")), p(t("World")), p(t(""))]
    assert render_rich_text(nodes) == "Hello\n\n\nWorld"


def test_empty_input() -> None:
    assert render_rich_text([]) == ""
    assert render_rich_text([p(t(""))]) == ""


def test_emoji_and_accents_pass_through() -> None:
    assert render_rich_text([p(t("Olá, "), t("São Paulo 🇧🇷", bold=True))]) == (
        "Olá, *São Paulo 🇧🇷*"
    )


def test_unknown_elements_render_their_children() -> None:
    variable = {"type": "inline-variable", "children": [p(t("John"))]}
    multi_line = {"type": "inline-variable", "children": [p(t("a")), p(t("b", bold=True))]}
    mention = {"type": "mention", "children": [t("@ana")]}
    nodes = [p(t("Hi "), variable, t(" and "), mention), {"type": "weird", "children": [p(t("x"))]}]
    assert render_rich_text(nodes) == "Hi John and @ana\nx"
    assert render_rich_text([p(t("Value: "), multi_line, t("!"))]) == "Value: a\n*b*!"


def test_headings_quotes_code_blocks() -> None:
    nodes = [
        {"type": "h2", "children": [t("Title")]},
        {"type": "blockquote", "children": [t("quoted")]},
        {"type": "code_block", "children": [{"type": "code_line", "children": [t("a = 1")]}]},
    ]
    assert render_rich_text(nodes) == "*Title*\n\n> quoted\n\n```a = 1```"


def test_top_level_leaves_and_garbage_are_tolerated() -> None:
    nodes: list[Any] = [t("loose", bold=True), "not a node", {"type": "p"}, p(t("ok"))]
    # A childless paragraph is an empty one: a blank line, like Typebot's empty paragraphs.
    assert render_rich_text(nodes) == "*loose*\n\nok"


def test_html_entities_are_decoded_like_typebot() -> None:
    # Upstream test: "Text with [ and &amp; &#x3C;" → "Text with [ and & <".
    assert render_rich_text([p(t("Text with [ and &amp; &#x3C;"))]) == "Text with [ and & <"
    assert decode_entities("&#128075; &nbsp; &#xD800;") == "👋 &nbsp; &#xD800;"


def test_plain_text() -> None:
    link = {"type": "a", "url": "https://x.io", "children": [t("l", bold=True)]}
    assert plain_text([p(t("a "), link)]) == "a l"
