"""Typebot rich text (Plate/Slate JSON nodes) → WhatsApp-formatted text."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# Ported from Typebot's `convertRichTextToMarkdown(..., {flavour: "whatsapp"})` (typebot.md §5.1):
# bold `*x*`, italic `_x_`, strikethrough `~x~`, underline dropped, links `label (url)`, paragraphs
# joined by "\n" (an empty paragraph is a blank line). Deliberate differences: bullets are `- `
# (a leading `* ` next to `*bold*` confuses WhatsApp), inline code is ```x``` (WhatsApp monospace,
# as Typebot's older whatsapp serializer did) and headings become *bold* lines.

RichTextNode = Mapping[str, Any]

_LIST_TYPES = frozenset({"ul", "ol"})
_HEADING_TYPES = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCK_TYPES = frozenset(
    {"p", "paragraph", "li", "lic", "blockquote", "code_block", "code_line", "hr"}
    | _LIST_TYPES
    | _HEADING_TYPES
)
_INLINE_VARIABLE = "inline-variable"
_CODE = "```"
_ENTITY_RE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));")
_NAMED_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_TRAILING_WS_RE = re.compile(r"\s*$")

# One inline run: text plus its WhatsApp markers (outermost first), or a pre-rendered raw piece
# (a link) that must not sit inside open markers.
_Run = tuple[str, tuple[str, ...], bool]


def render_rich_text(nodes: Sequence[RichTextNode]) -> str:
    """Render a text bubble's `richText` list; leading/trailing blank lines are dropped."""
    blocks = _render_blocks(_as_nodes(nodes), depth=0)
    out: list[str] = []
    previous_is_paragraph = True
    for index, (text, is_paragraph) in enumerate(blocks):
        if index:
            # Typebot's join rule: paragraphs sit on adjacent lines, other blocks get a blank line.
            out.append("\n" if is_paragraph or previous_is_paragraph else "\n\n")
        out.append(text)
        previous_is_paragraph = is_paragraph
    return "".join(out).strip("\n")


def plain_text(nodes: Sequence[RichTextNode]) -> str:
    """Concatenate every leaf's text, without formatting (used for link label comparison)."""
    parts: list[str] = []
    for node in _as_nodes(nodes):
        if _is_leaf(node):
            parts.append(decode_entities(str(node["text"])))
        else:
            parts.append(plain_text(_children(node)))
    return "".join(parts)


def decode_entities(text: str) -> str:
    """Decode the few HTML entities Typebot's API renderer decodes (numeric + 5 named)."""

    def replace(match: re.Match[str]) -> str:
        hex_code, dec_code, name = match.groups()
        if name:
            return _NAMED_ENTITIES[name]
        code = int(hex_code, 16) if hex_code else int(dec_code)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return match.group(0)
        return chr(code)

    return _ENTITY_RE.sub(replace, text) if "&" in text else text


def _as_nodes(value: object) -> list[RichTextNode]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [node for node in value if isinstance(node, Mapping)]


def _is_leaf(node: RichTextNode) -> bool:
    return isinstance(node.get("text"), str)


def _children(node: RichTextNode) -> list[RichTextNode]:
    return _as_nodes(node.get("children"))


def _node_type(node: RichTextNode) -> str:
    value = node.get("type")
    return value if isinstance(value, str) else ""


def _is_block(node: RichTextNode) -> bool:
    if _is_leaf(node):
        return False
    if _node_type(node) == _INLINE_VARIABLE:
        return False
    if _node_type(node) in _BLOCK_TYPES:
        return True
    # Unknown element types (older bots): a block if it wraps blocks, else inline.
    return any(_is_block(child) for child in _children(node))


def _render_blocks(nodes: list[RichTextNode], depth: int) -> list[tuple[str, bool]]:
    """Render sibling nodes to (text, is_paragraph) blocks; stray inline nodes form a paragraph."""
    blocks: list[tuple[str, bool]] = []
    pending_inline: list[RichTextNode] = []
    for node in nodes:
        if not _is_block(node):
            pending_inline.append(node)
            continue
        if pending_inline:
            blocks.append((_render_inline(pending_inline), True))
            pending_inline = []
        blocks.extend(_render_block(node, depth))
    if pending_inline:
        blocks.append((_render_inline(pending_inline), True))
    return blocks


def _render_block(node: RichTextNode, depth: int) -> list[tuple[str, bool]]:
    kind = _node_type(node)
    children = _children(node)
    if kind in _LIST_TYPES:
        return [(_render_list(node, depth), False)]
    if kind in _HEADING_TYPES:
        return [(_render_inline(children, extra_marks=("*",)), False)]
    if kind == "blockquote":
        quoted = _render_inline(children).split("\n")
        return [("\n".join(f"> {line}" for line in quoted), False)]
    if kind in {"code_block", "code_line"}:
        code = "\n".join(plain_text([child]) for child in children)
        return [(f"{_CODE}{code}{_CODE}" if code.strip() else "", False)]
    if kind == "hr":
        return [("───", False)]
    if any(_is_block(child) for child in children):
        return _render_blocks(children, depth)
    return [(_render_inline(children), True)]


def _render_list(node: RichTextNode, depth: int) -> str:
    ordered = _node_type(node) == "ol"
    indent = "   " * depth
    lines: list[str] = []
    for number, item in enumerate(_children(node), start=1):
        marker = f"{number}." if ordered else "-"
        content: list[RichTextNode] = []
        nested: list[str] = []
        parts = _children(item) if _node_type(item) == "li" else [item]
        for part in parts:
            if _node_type(part) in _LIST_TYPES:
                nested.append(_render_list(part, depth + 1))
            elif _node_type(part) == "lic" or not _is_block(part):
                content.extend(_children(part) if _node_type(part) == "lic" else [part])
            else:
                content.append(part)
        text = _render_inline(content) if not any(map(_is_block, content)) else _flatten(content)
        lines.append(f"{indent}{marker} {text}".rstrip())
        lines.extend(nested)
    return "\n".join(lines)


def _flatten(nodes: list[RichTextNode]) -> str:
    return " ".join(text for text, _ in _render_blocks(nodes, depth=0) if text)


def _render_inline(nodes: Sequence[RichTextNode], extra_marks: tuple[str, ...] = ()) -> str:
    runs: list[_Run] = []
    _collect_runs(nodes, extra_marks, runs)
    return _join_runs(runs)


def _collect_runs(nodes: Sequence[RichTextNode], extra: tuple[str, ...], runs: list[_Run]) -> None:
    for index, node in enumerate(nodes):
        if _is_leaf(node):
            marks = _leaf_marks(node, extra)
            # WhatsApp markers never span lines, so newlines are unmarked runs of their own.
            for piece in re.split(r"(\n+)", decode_entities(str(node["text"]))):
                if piece:
                    runs.append((piece, () if piece.startswith("\n") else marks, False))
        elif _node_type(node) == "a":
            runs.append((_render_link(node, extra), (), True))
        else:
            # Paragraphs inside an inline element (a multi-line variable value) become lines.
            if index and _is_block(node):
                runs.append(("\n", (), False))
            _collect_runs(_children(node), extra, runs)


def _leaf_marks(leaf: RichTextNode, extra: tuple[str, ...]) -> tuple[str, ...]:
    if leaf.get("code"):
        return (_CODE,)  # WhatsApp renders no formatting inside monospace
    wanted = set(extra)
    if leaf.get("bold"):
        wanted.add("*")
    if leaf.get("italic"):
        wanted.add("_")
    if leaf.get("strikethrough") or leaf.get("strikeThrough"):
        wanted.add("~")
    return tuple(marker for marker in ("*", "_", "~") if marker in wanted)


def _render_link(node: RichTextNode, extra: tuple[str, ...]) -> str:
    url = str(node.get("url") or "").strip()
    children = _children(node)
    label = _render_inline(children, extra)
    label_plain = plain_text(children).strip()
    if not url:
        return label
    if not label_plain or _same_target(label_plain, url):
        return url
    return f"{label} ({url})"


def _same_target(label: str, url: str) -> bool:
    def bare(value: str) -> str:
        return re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.strip().lower()).rstrip("/")

    return bare(label) == bare(url)


def _join_runs(runs: list[_Run]) -> str:
    buf = ""
    stack: list[str] = []
    for text, marks, is_raw in runs:
        blank = not text.strip()
        if is_raw:
            target: tuple[str, ...] = ()
        elif blank:
            # Whitespace never opens markers; it stays inside those it shares with the open ones.
            target = tuple(stack[: _common_prefix(stack, marks)])
        else:
            target = marks
        keep = _common_prefix(stack, target)
        while len(stack) > keep:
            buf = _close(buf, stack.pop())
        openers = "".join(target[keep:])
        stack.extend(target[keep:])
        stripped = text.lstrip()
        lead = text[: len(text) - len(stripped)]
        buf += f"{lead}{openers}{stripped}" if openers else text
    while stack:
        buf = _close(buf, stack.pop())
    return buf


def _common_prefix(left: Sequence[str], right: Sequence[str]) -> int:
    size = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        size += 1
    return size


def _close(buf: str, marker: str) -> str:
    """Append a closing marker before trailing whitespace (WhatsApp needs it to touch text)."""
    match = _TRAILING_WS_RE.search(buf)
    cut = match.start() if match else len(buf)
    return f"{buf[:cut]}{marker}{buf[cut:]}"
