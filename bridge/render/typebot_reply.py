"""Turn one Typebot chat reply (bubbles + optional choice input) into WhatsApp messages to send."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from bridge.render.choices import BUTTONS_MAX, ChoiceItem, menu_items, render_choice_menu
from bridge.render.markdown import render_markdown
from bridge.render.richtext import render_rich_text

# Decisions (typebot.md §5.2-5.6):
# * Messages keep Typebot's order; consecutive text bubbles stay separate messages.
# * The numbered menu is appended to the last text message when the reply ends with text
#   ("Choose Department:\n\n1. DTV\n2. Sales"), as Typebot's own WhatsApp renderer does for
#   multi-choice (and for buttons, whose body is that bubble): prompt and options then arrive as
#   one message and cannot be split or reordered. `merge_menu=False` sends the menu on its own.
# * Buttons mode yields a `WhatsAppChoicePrompt` (the sender builds the Evolution payload with
#   `build_buttons_payload`, or `build_list_payload` when style == "list", i.e. > 3 items).
# * youtube/vimeo/... videos, SVG images and plain embeds become link texts; an embed of a
#   document file (pdf, docx, ...) becomes a document, like Typebot's renderer. Media without an
#   http(s) URL are dropped (Evolution could not fetch them, the customer could not open them).

BubbleKind = Literal["text", "image", "video", "audio", "embed"]
MediaKind = Literal["image", "video", "audio", "document"]

_DOCUMENT_EXTENSIONS = frozenset(
    {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "csv", "txt", "zip"}
)


@dataclass(frozen=True, slots=True)
class TypebotBubble:
    """One entry of Typebot's `messages[]`, reduced to what rendering needs."""

    kind: BubbleKind
    rich_text: Sequence[Mapping[str, Any]] | None = None
    markdown: str | None = None
    url: str | None = None
    # Typebot video `content.type`: "url" (a file) or an embed host ("youtube", "vimeo", ...).
    video_type: str | None = None


@dataclass(frozen=True, slots=True)
class WhatsAppText:
    content: str


@dataclass(frozen=True, slots=True)
class WhatsAppMedia:
    kind: MediaKind
    url: str
    caption: str | None = None
    file_name: str | None = None


@dataclass(frozen=True, slots=True)
class WhatsAppChoicePrompt:
    """Interactive menu for the buttons mode; `prompt` is the text shown above the choices."""

    prompt: str
    items: tuple[ChoiceItem, ...] = field(default_factory=tuple)
    style: Literal["buttons", "list"] = "buttons"


WhatsAppOutgoing = WhatsAppText | WhatsAppMedia | WhatsAppChoicePrompt


def render_bubble_text(bubble: TypebotBubble) -> str:
    """WhatsApp text of a text bubble (rich text preferred, markdown otherwise)."""
    if bubble.rich_text is not None:
        return render_rich_text(bubble.rich_text)
    if bubble.markdown is not None:
        return render_markdown(bubble.markdown).strip("\n")
    return ""


def render_typebot_reply(
    bubbles: Sequence[TypebotBubble],
    choice_input: Sequence[ChoiceItem] | None = None,
    *,
    buttons: bool = False,
    merge_menu: bool = True,
    default_prompt: str = "",
) -> list[WhatsAppOutgoing]:
    """Render Typebot's bubbles in order, then the pending single-choice input (if any).

    Empty bubbles are dropped. `default_prompt` is the button body when no text precedes them.
    """
    messages: list[WhatsAppOutgoing] = []
    for bubble in bubbles:
        rendered = _render_bubble(bubble)
        if rendered is not None:
            messages.append(rendered)
    shown = menu_items(choice_input or ())
    if not shown:
        return messages
    prompt = ""
    last = messages[-1] if messages else None
    if merge_menu and isinstance(last, WhatsAppText):
        messages.pop()
        prompt = last.content
    if buttons:
        style: Literal["buttons", "list"] = "buttons" if len(shown) <= BUTTONS_MAX else "list"
        messages.append(WhatsAppChoicePrompt(prompt or default_prompt, tuple(shown), style))
    else:
        messages.append(WhatsAppText(render_choice_menu([prompt] if prompt else [], shown)))
    return messages


def _render_bubble(bubble: TypebotBubble) -> WhatsAppOutgoing | None:
    if bubble.kind == "text":
        text = render_bubble_text(bubble)
        return WhatsAppText(text) if text.strip() else None
    url = (bubble.url or "").strip()
    if not _is_http_url(url):
        return None
    file_name = urlsplit(url).path.rsplit("/", 1)[-1]
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    if bubble.kind == "image":
        # WhatsApp can't show SVG; a link still lets the customer open it.
        return WhatsAppText(url) if extension == "svg" else WhatsAppMedia("image", url)
    if bubble.kind == "video":
        if bubble.video_type not in (None, "url"):
            return WhatsAppText(url)
        return WhatsAppMedia("video", url)
    if bubble.kind == "audio":
        return WhatsAppMedia("audio", url)
    if extension in _DOCUMENT_EXTENSIONS:
        return WhatsAppMedia("document", url, file_name=file_name)
    return WhatsAppText(url)


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def bubble_from_message(message: Mapping[str, Any]) -> TypebotBubble | None:
    """Adapt one raw Typebot `messages[]` entry (chat API JSON); None for unknown types."""
    kind = message.get("type")
    content = message.get("content")
    if not isinstance(content, Mapping):
        return None
    if kind == "text":
        rich_text = content.get("richText")
        markdown = content.get("markdown")
        return TypebotBubble(
            "text",
            rich_text=rich_text if isinstance(rich_text, list) else None,
            markdown=markdown if isinstance(markdown, str) else None,
        )
    url = content.get("url")
    url = url if isinstance(url, str) else None
    if kind == "video":
        video_type = content.get("type")
        return TypebotBubble("video", url=url, video_type=str(video_type) if video_type else None)
    if kind in {"image", "audio", "embed"}:
        return TypebotBubble(kind, url=url)
    if kind == "custom-embed":
        return TypebotBubble("embed", url=url)
    return None


def choice_items_from_input(tb_input: Mapping[str, Any] | None) -> list[ChoiceItem] | None:
    """Items of a pending single-choice input (raw chat API `input`); None for other inputs."""
    if not tb_input or tb_input.get("type") != "choice input":
        return None
    options = tb_input.get("options")
    if isinstance(options, Mapping) and options.get("isMultipleChoice"):
        return None
    raw_items = tb_input.get("items")
    if not isinstance(raw_items, list):
        return []
    return [
        ChoiceItem(id=str(item["id"]), content=str(item.get("content") or ""))
        for item in raw_items
        if isinstance(item, Mapping) and item.get("id") is not None
    ]
