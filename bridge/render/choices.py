"""Typebot choice menus for WhatsApp: numbered text, Evolution buttons/list, reply matching."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Matching order in `match_choice` (first hit wins; Typebot itself only knows id and exact label):
#   1. button/list reply id == item id           2. text == item id
#   3. trimmed text == item content (exact)      4. folded text == folded content (unique)
#   5. menu number "2", "2.", "#2", "2)", " 2 " → 1-based position in the numbered menu
#   6. a copied menu line "2. Sales" → its label part, matched by 3/4
#   7. a folded prefix of >= 3 characters that starts exactly one label ("sal" → Sales)
# A label beats a number, so items that are themselves numbers ("10", "20") stay reachable.
# "0", numbers past the end, ambiguous labels/prefixes and empty replies give None: the caller
# re-prompts (or forwards the text so Typebot answers with its retry message).
MIN_PREFIX_LENGTH = 3
BUTTONS_MAX = 3  # Evolution sendButtons accepts at most 3 "reply" buttons
BUTTON_TITLE_MAX = 20  # WhatsApp limit for a reply button title
ROW_TITLE_MAX = 24  # WhatsApp limit for a list row title

_NUMBER_RE = re.compile(r"^#?\s*([0-9]{1,4})\s*[.)\-:º°]?$")
_MENU_LINE_RE = re.compile(r"^#?\s*[0-9]{1,4}\s*[.)\-:]\s*(\S.*)$")
_SPACES_RE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ChoiceItem:
    """One choice-input item: Typebot's item id and the label shown to the customer."""

    id: str
    content: str


def menu_items(items: Sequence[ChoiceItem]) -> list[ChoiceItem]:
    """Items that get a line (and a number) in the menu: those with a non-blank label."""
    return [item for item in items if item.content.strip()]


def fold_label(text: str) -> str:
    """Case-, accent- and spacing-insensitive form of a label ("  Sálès!! " → "sales")."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    collapsed = _SPACES_RE.sub(" ", without_marks.casefold()).strip()
    start, end = 0, len(collapsed)
    # Punctuation, symbols (emoji) and spaces around the words don't change the meaning.
    while start < end and unicodedata.category(collapsed[start])[0] in "PSZ":
        start += 1
    while end > start and unicodedata.category(collapsed[end - 1])[0] in "PSZ":
        end -= 1
    return collapsed[start:end]


def match_choice(
    reply_text: str | None, reply_id: str | None, items: Sequence[ChoiceItem]
) -> ChoiceItem | None:
    """Map a customer's WhatsApp reply to one of the menu items, or None when unsure."""
    if reply_id and reply_id.strip():
        wanted_id = reply_id.strip()
        for item in items:
            if item.id == wanted_id:
                return item
    text = (reply_text or "").strip()
    if not text:
        return None
    for item in items:
        if item.id == text:
            return item
    shown = menu_items(items)
    by_label = _match_label(text, shown)
    if by_label is not None:
        return by_label
    number = _NUMBER_RE.match(text)
    if number:
        position = int(number.group(1))
        if 1 <= position <= len(shown):
            return shown[position - 1]
    menu_line = _MENU_LINE_RE.match(text)
    if menu_line:
        by_label = _match_label(menu_line.group(1), shown)
        if by_label is not None:
            return by_label
    return _match_prefix(fold_label(text), shown)


def _match_label(text: str, shown: Sequence[ChoiceItem]) -> ChoiceItem | None:
    stripped = text.strip()
    for item in shown:
        if item.content.strip() == stripped:
            return item
    folded = fold_label(stripped)
    if not folded:
        return None
    hits = [item for item in shown if fold_label(item.content) == folded]
    return hits[0] if len(hits) == 1 else None


def _match_prefix(folded: str, shown: Sequence[ChoiceItem]) -> ChoiceItem | None:
    if len(folded) < MIN_PREFIX_LENGTH:
        return None
    hits = [item for item in shown if fold_label(item.content).startswith(folded)]
    return hits[0] if len(hits) == 1 else None


def _one_line(text: str) -> str:
    return _SPACES_RE.sub(" ", text).strip()


def render_choice_menu(prompt_lines: Sequence[str], items: Sequence[ChoiceItem]) -> str:
    """The prompt, a blank line, then "1. DTV\\n2. Sales" (numbers match `match_choice`)."""
    prompt = "\n".join(prompt_lines).strip("\n")
    menu = "\n".join(
        f"{position}. {_one_line(item.content)}"
        for position, item in enumerate(menu_items(items), start=1)
    )
    if prompt and menu:
        return f"{prompt}\n\n{menu}"
    return prompt or menu


def _truncate(text: str, limit: int) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build_buttons_payload(
    items: Sequence[ChoiceItem],
    *,
    number: str,
    title: str,
    description: str | None = None,
    footer: str | None = None,
    delay_ms: int = 0,
) -> dict[str, Any]:
    """Body of Evolution `POST /message/sendButtons/{instance}`: one reply button per item.

    Raises ValueError unless there are 1..3 shown items (use `build_list_payload` for more).
    """
    shown = menu_items(items)
    if not 1 <= len(shown) <= BUTTONS_MAX:
        raise ValueError(f"sendButtons takes 1..{BUTTONS_MAX} items, got {len(shown)}")
    payload: dict[str, Any] = {"number": number, "title": title}
    if description is not None:
        payload["description"] = description
    if footer is not None:
        payload["footer"] = footer
    payload["buttons"] = [
        {"type": "reply", "displayText": _truncate(item.content, BUTTON_TITLE_MAX), "id": item.id}
        for item in shown
    ]
    payload["delay"] = delay_ms
    return payload


def build_list_payload(
    items: Sequence[ChoiceItem],
    *,
    number: str,
    title: str,
    description: str = "",
    button_text: str = "Options",
    footer_text: str = "",
    section_title: str = "",
    delay_ms: int = 0,
) -> dict[str, Any]:
    """Body of Evolution `POST /message/sendList/{instance}`: one row per item, `rowId` = item id.

    A label longer than WhatsApp's row-title limit is cut there and repeated in full as the
    row description. Raises ValueError when no item has a label.
    """
    shown = menu_items(items)
    if not shown:
        raise ValueError("sendList needs at least one item with a label")
    rows: list[dict[str, str]] = []
    for item in shown:
        label = _one_line(item.content)
        row = {"title": _truncate(label, ROW_TITLE_MAX)}
        if row["title"] != label:
            row["description"] = label
        row["rowId"] = item.id
        rows.append(row)
    return {
        "number": number,
        "title": title,
        "description": description,
        "buttonText": button_text,
        "footerText": footer_text,
        "sections": [{"title": section_title or title, "rows": rows}],
        "delay": delay_ms,
    }
