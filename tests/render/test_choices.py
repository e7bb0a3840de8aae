"""Choice menus: numbered text, Evolution buttons/list payloads, lenient reply matching."""

from __future__ import annotations

import pytest

from bridge.render.choices import (
    ChoiceItem,
    build_buttons_payload,
    build_list_payload,
    fold_label,
    match_choice,
    menu_items,
    render_choice_menu,
)
from tests.contracts_dir import load_contract

DTV = ChoiceItem("p6w0e3r8t1y5u9i2o7a4s0d3", "DTV")
SALES = ChoiceItem("f5g9h2j6k0l4z8x1c7v3b5n9", "Sales")
ITEMS = [DTV, SALES]


def test_items_from_sample_input() -> None:
    sample = load_contract("typebot/examples/startChat.response.richText.json")
    items = [ChoiceItem(i["id"], i["content"]) for i in sample["input"]["items"]]
    assert items == ITEMS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", DTV),
        ("2", SALES),
        (" 2 ", SALES),
        ("1.", DTV),
        ("#2", SALES),
        ("2)", SALES),
        ("2º", SALES),
        ("DTV", DTV),
        ("dtv", DTV),
        ("  dTv!  ", DTV),
        ("dtv!!!", DTV),
        ("Sálès", SALES),
        ("SALES 👍", SALES),
        ("sal", SALES),
        ("2. Sales", SALES),
        ("1 - DTV", DTV),
        ("p6w0e3r8t1y5u9i2o7a4s0d3", DTV),
        ("3", None),
        ("0", None),
        ("-1", None),
        ("12", None),
        ("", None),
        ("   ", None),
        ("dt", None),
        ("hello", None),
        ("DTV and Sales", None),
    ],
)
def test_match_text(text: str, expected: ChoiceItem | None) -> None:
    assert match_choice(text, None, ITEMS) == expected


def test_match_none_text() -> None:
    assert match_choice(None, None, ITEMS) is None


def test_reply_id_wins_over_text() -> None:
    # A list/button reply carries our item id; its title may be truncated or anything else.
    assert match_choice("DTV", SALES.id, ITEMS) == SALES
    assert match_choice(None, f" {DTV.id} ", ITEMS) == DTV


def test_unknown_reply_id_falls_back_to_text() -> None:
    assert match_choice("2", "some-other-id", ITEMS) == SALES
    assert match_choice(None, "some-other-id", ITEMS) is None


def test_label_beats_number_for_numeric_labels() -> None:
    items = [ChoiceItem("a", "10"), ChoiceItem("b", "2"), ChoiceItem("c", "30")]
    assert match_choice("2", None, items) == items[1]
    assert match_choice("1", None, items) == items[0]
    assert match_choice("3", None, items) == items[2]


def test_ambiguous_prefix_and_fold_give_none() -> None:
    items = [ChoiceItem("a", "Support Phone"), ChoiceItem("b", "Support Email")]
    assert match_choice("support", None, items) is None
    assert match_choice("support e", None, items) == items[1]
    twins = [ChoiceItem("a", "Café"), ChoiceItem("b", "cafe")]
    assert match_choice("CAFE", None, twins) is None
    assert match_choice("Café", None, twins) == twins[0]  # exact label still decides


def test_numbers_skip_items_without_label() -> None:
    items = [ChoiceItem("x", "  "), DTV, SALES]
    assert menu_items(items) == ITEMS
    assert match_choice("1", None, items) == DTV
    assert match_choice("3", None, items) is None
    assert render_choice_menu([], items) == "1. DTV\n2. Sales"


def test_multi_word_label_with_extra_spaces() -> None:
    items = [ChoiceItem("a", "Technical  Support"), ChoiceItem("b", "Billing")]
    assert match_choice("technical   support.", None, items) == items[0]


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("  Sálès!! ", "sales"), ("ÇA  VA?", "ca va"), ("🎉", ""), ("ﬁnance", "finance"), ("", "")],
)
def test_fold_label(raw: str, folded: str) -> None:
    assert fold_label(raw) == folded


def test_render_choice_menu() -> None:
    assert render_choice_menu(["*Choose Department:*"], ITEMS) == (
        "*Choose Department:*\n\n1. DTV\n2. Sales"
    )
    assert render_choice_menu(["Hi", "Pick one"], ITEMS) == "Hi\nPick one\n\n1. DTV\n2. Sales"
    assert render_choice_menu([], ITEMS) == "1. DTV\n2. Sales"
    assert render_choice_menu(["Only prompt"], []) == "Only prompt"
    multi_line = [ChoiceItem("a", "Line one\nline two")]
    assert render_choice_menu([], multi_line) == "1. Line one line two"


def test_buttons_payload_matches_evolution_sample_shape() -> None:
    sample = load_contract("evolution/send-buttons-request.json")
    payload = build_buttons_payload(
        ITEMS,
        number="5511912345678",
        title="Choose Department:",
        description="Tap an option",
        footer="Demo",
        delay_ms=1000,
    )
    assert list(payload) == list(sample)
    assert [list(button) for button in payload["buttons"]] == [list(sample["buttons"][0])] * 2
    assert payload["buttons"] == [
        {"type": "reply", "displayText": "DTV", "id": DTV.id},
        {"type": "reply", "displayText": "Sales", "id": SALES.id},
    ]
    assert payload["number"] == "5511912345678"
    assert payload["delay"] == 1000


def test_buttons_payload_optional_keys_and_limits() -> None:
    payload = build_buttons_payload(
        [ChoiceItem("a", "A very long department name here")], number="1", title="T"
    )
    assert set(payload) == {"number", "title", "buttons", "delay"}
    assert payload["buttons"][0]["displayText"] == "A very long departm…"
    assert len(payload["buttons"][0]["displayText"]) == 20
    four = [ChoiceItem(str(i), f"Option {i}") for i in range(4)]
    with pytest.raises(ValueError, match=r"1\.\.3"):
        build_buttons_payload(four, number="1", title="T")
    with pytest.raises(ValueError, match=r"1\.\.3"):
        build_buttons_payload([ChoiceItem("a", " ")], number="1", title="T")


def test_list_payload_matches_evolution_sample_shape() -> None:
    sample = load_contract("evolution/send-list-request.json")
    long_label = "Technical support for satellite TV"
    items = [*ITEMS, ChoiceItem("t", long_label)]
    payload = build_list_payload(
        items,
        number="5511912345678",
        title="Choose Department:",
        description="One option",
        button_text="Options",
        footer_text="Demo",
        section_title="Departments",
        delay_ms=1000,
    )
    assert list(payload) == list(sample)
    assert list(payload["sections"][0]) == list(sample["sections"][0])
    rows = payload["sections"][0]["rows"]
    assert list(rows[2]) == list(sample["sections"][0]["rows"][0])
    assert rows[0] == {"title": "DTV", "rowId": DTV.id}
    assert rows[2] == {"title": "Technical support for s…", "description": long_label, "rowId": "t"}
    assert len(rows[2]["title"]) == 24
    assert payload["sections"][0]["title"] == "Departments"


def test_list_payload_defaults_and_empty() -> None:
    payload = build_list_payload(ITEMS, number="1", title="Pick")
    assert payload["sections"][0]["title"] == "Pick"
    assert payload["buttonText"] == "Options"
    with pytest.raises(ValueError, match="at least one"):
        build_list_payload([], number="1", title="Pick")
