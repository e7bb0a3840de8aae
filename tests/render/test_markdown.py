"""Markdown (Typebot markdown bubbles, Chatwoot agent replies) → WhatsApp text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.render.markdown import MARKDOWN_CHARS, render_markdown
from tests.contracts_dir import load_contract


def test_sample_markdown_bubbles() -> None:
    sample = load_contract("typebot/examples/startChat.response.markdown.json")
    rendered = [render_markdown(m["content"]["markdown"]) for m in sample["messages"]]
    assert rendered == ["Welcome! 👋", "*Choose Department:*"]
    end = load_contract("typebot/examples/continueChat.response.end.markdown.json")
    text = end["messages"][0]["content"]["markdown"]
    assert render_markdown(text) == text


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("**bold**", "*bold*"),
        ("__bold__", "*bold*"),
        ("*italic*", "_italic_"),
        ("_italic_", "_italic_"),
        ("***both***", "*_both_*"),
        ("~~gone~~", "~gone~"),
        ("**a *b* c**", "*a _b_ c*"),
        ("*a **b** c*", "_a *b* c_"),
        ("`x = 1`", "```x = 1```"),
        ("``a ` b``", "```a ` b```"),
        ("`**not bold**`", "```**not bold**```"),
        ("[our site](https://example.com/a)", "our site (https://example.com/a)"),
        ("[https://example.com](https://example.com)", "https://example.com"),
        ("[](https://example.com)", "https://example.com"),
        ('[**Docs**](https://d.io "title")', "*Docs* (https://d.io)"),
        ("![logo](https://x.io/l.png)", "logo (https://x.io/l.png)"),
        ("<https://x.io/a_b_c>", "https://x.io/a_b_c"),
        ("see https://x.io/**a**/b", "see https://x.io/**a**/b"),
        ("[x](https://x.io/a__b__c)", "x (https://x.io/a__b__c)"),
        ("# Title", "*Title*"),
        ("### **Bold** title ###", "*Bold title*"),
        ("#", ""),
        ("#hashtag", "#hashtag"),
        ("* one\n* two", "- one\n- two"),
        ("  * nested *it*", "  - nested _it_"),
        ("- keep\n+ keep\n1. keep", "- keep\n+ keep\n1. keep"),
        ("> quote **b**", "> quote *b*"),
        (r"\*not italic\*", "*not italic*"),
        ("line one\\\nline two", "line one\nline two"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2*3*4"),
        ("** not bold **", "** not bold **"),
        ("a * b * c", "a * b * c"),
        ("***", "***"),
        ("**Sálès** 🎉", "*Sálès* 🎉"),
    ],
)
def test_inline_and_line_conversions(source: str, expected: str) -> None:
    assert render_markdown(source) == expected


def test_code_fence_keeps_content_verbatim() -> None:
    source = "Run:\n```bash\necho **hi** _x_\n```\ndone"
    assert render_markdown(source) == "Run:\n```echo **hi** _x_```\ndone"


def test_tilde_fence_and_unterminated_fence() -> None:
    assert render_markdown("~~~\na\n~~~") == "```a```"
    assert render_markdown("```\nopen **forever**") == "```open **forever**```"
    assert render_markdown("```\n\n```") == ""


def test_crlf_line_endings() -> None:
    assert render_markdown("# Title\r\n**b**\\\r\nnext") == "*Title*\n*b*\nnext"


def test_one_line_triple_backticks_are_inline_code() -> None:
    assert render_markdown("```mono```") == "```mono```"


def test_chatwoot_agent_reply() -> None:
    source = (
        "Hi **Ana**, thanks for waiting!\n\n"
        "Your plan: *Premium*\n"
        "- Price: ~~R$ 99~~ R$ 79\n"
        "- Details: [plans](https://shop.example.com/plans)"
    )
    assert render_markdown(source) == (
        "Hi *Ana*, thanks for waiting!\n\n"
        "Your plan: _Premium_\n"
        "- Price: ~R$ 99~ R$ 79\n"
        "- Details: plans (https://shop.example.com/plans)"
    )


def test_private_use_characters_in_input_do_not_confuse_placeholders() -> None:
    source = "\ue000" + "0\ue000 **b** `c`"
    assert render_markdown(source) == "\ue0000\ue000 *b* ```c```"


@given(st.text())
def test_any_text_renders_without_error(source: str) -> None:
    assert isinstance(render_markdown(source), str)


@given(st.text(alphabet=st.characters(blacklist_characters=sorted(MARKDOWN_CHARS))))
def test_plain_text_is_unchanged(source: str) -> None:
    assert render_markdown(source) == source


@given(
    st.text(
        alphabet=st.sampled_from(list("ab _*~`[]()<>#\\!\n-+.:/h1")),
        max_size=60,
    )
)
def test_markdown_heavy_text_never_crashes(source: str) -> None:
    assert isinstance(render_markdown(source), str)


@given(st.text(alphabet=st.sampled_from(list("ab *_`[](h)\n\ue000\ue0010")), max_size=40))
def test_placeholders_never_leak(source: str) -> None:
    leaked = {ch for ch in render_markdown(source) if "\ue000" <= ch <= "\uf8ff"} - set(source)
    assert leaked == set()
