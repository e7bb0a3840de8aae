"""CommonMark-ish Markdown (Typebot markdown bubbles, Chatwoot agent replies) → WhatsApp text."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

# What this converts (everything else passes through untouched, so plain text is unchanged):
#   **b** / __b__ → *b*      *i* / _i_ → _i_      ***bi*** → *_bi_*      ~~s~~ → ~s~
#   `code` and ``` fences → ```code``` (WhatsApp monospace)      # Heading → *Heading*
#   [label](url) / ![alt](url) → "label (url)" or just "url"     <https://x> → https://x
#   "* item" bullets → "- item"     backslash escapes \* → *     trailing "\" hard breaks removed
# Conversion is regex based and best effort: it never raises and never loses text.

# Characters whose presence can make `render_markdown` change a text; anything without them
# comes back unchanged.
MARKDOWN_CHARS = frozenset("*_~`[]<>#\\")

_FENCE_RE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})(.*)$")
_HEADING_RE = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]+(.*?))?[ \t]*$")
_HEADING_CLOSE_RE = re.compile(r"[ \t]+#+$")
_BULLET_RE = re.compile(r"^([ \t]*)\*([ \t]+)(?=\S)")
_CODE_SPAN_RE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_LINK_RE = re.compile(
    r"(!?)\[([^\[\]\n]*)\]\([ \t]*<?([^\s()<>]*)>?(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'))?[ \t]*\)"
)
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto|ftp):[^\s<>]+)>")
_BARE_URL_RE = re.compile(r"\bhttps?://[^\s<>]+")
_ESCAPE_RE = re.compile(r"\\([!-/:-@\[-`{-~])")
_BOLD_ITALIC_RE = re.compile(r"(?<![*\w])\*\*\*(?=[^\s*])([^\n]+?)(?<=[^\s*])\*\*\*(?![*\w])")
_STAR_BOLD_RE = re.compile(r"(?<!\*)\*\*(?=[^\s*])([^\n]+?)(?<=[^\s*])\*\*(?!\*)")
_UNDERSCORE_BOLD_RE = re.compile(r"(?<![_\w])__(?=[^\s_])([^\n]+?)(?<=[^\s_])__(?![_\w])")
_STAR_ITALIC_RE = re.compile(r"(?<![*\w])\*(?=[^\s*])([^\n]*?[^\s*])?\*(?![*\w])")
_STRIKE_RE = re.compile(r"(?<!~)~~(?=[^\s~])([^\n]+?)(?<=[^\s~])~~(?!~)")
_INNER_BOLD_RE = re.compile(r"\*\*([^\n]+?)\*\*|__([^\n]+?)__")
_MONO = "```"


def render_markdown(text: str) -> str:
    """Convert Markdown to WhatsApp formatting; plain text passes through unchanged."""
    if not any(char in MARKDOWN_CHARS for char in text):
        return text
    text = text.replace("\r\n", "\n")
    out: list[str] = []
    fence: str | None = None
    fenced: list[str] = []
    for line in text.split("\n"):
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                out.append(_monospace_block(fenced))
                fence, fenced = None, []
            else:
                fenced.append(line)
            continue
        opening = _FENCE_RE.match(line)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence, fenced = opening.group(1), []
            continue
        out.append(_render_line(line))
    if fence is not None:  # unterminated fence: the rest is code, as CommonMark says
        out.append(_monospace_block(fenced))
    return "\n".join(out)


def _monospace_block(lines: list[str]) -> str:
    body = "\n".join(lines).strip("\n")
    return f"{_MONO}{body}{_MONO}" if body.strip() else ""


def _render_line(line: str) -> str:
    if line.endswith("\\") and not line.endswith("\\\\"):
        line = line[:-1]  # Markdown hard break: the newline itself is enough on WhatsApp
    heading = _HEADING_RE.match(line)
    if heading:
        title = _HEADING_CLOSE_RE.sub("", heading.group(1) or "").strip()
        title = _INNER_BOLD_RE.sub(lambda m: m.group(1) or m.group(2), title)
        rendered = _render_inline(title).strip()
        return f"*{rendered}*" if rendered else ""
    bullet = _BULLET_RE.match(line)
    if bullet:
        return f"{bullet.group(1)}-{bullet.group(2)}{_render_inline(line[bullet.end() :])}"
    return _render_inline(line)


class _Vault:
    """Stashes finished pieces (code, URLs, escaped chars) behind tokens the regexes can't touch."""

    def __init__(self, text: str) -> None:
        # A private-use character absent from the input, so tokens can never collide with it.
        code_points = itertools.chain(range(0xE000, 0xF900), range(0xF0000, 0xFFFFE))
        self.sentinel = next(chr(cp) for cp in code_points if chr(cp) not in text)
        self.pieces: list[str] = []

    def put(self, piece: str) -> str:
        self.pieces.append(piece)
        return f"{self.sentinel}{len(self.pieces) - 1}{self.sentinel}"

    def restore(self, text: str) -> str:
        pattern = re.compile(f"{self.sentinel}([0-9]+){self.sentinel}")
        # Pieces may hold tokens themselves (a link label with code), so repeat until stable.
        for _ in range(len(self.pieces) + 1):
            restored = pattern.sub(lambda m: self.pieces[int(m.group(1))], text)
            if restored == text:
                break
            text = restored
        return text


def _render_inline(text: str) -> str:
    if not any(char in MARKDOWN_CHARS for char in text):
        return text
    vault = _Vault(text)
    text = _CODE_SPAN_RE.sub(lambda m: vault.put(_code_span(m.group(2))), text)
    text = _ESCAPE_RE.sub(lambda m: vault.put(m.group(1)), text)
    text = _LINK_RE.sub(lambda m: _link(vault, m.group(2), m.group(3)), text)
    text = _AUTOLINK_RE.sub(lambda m: vault.put(m.group(1)), text)
    text = _BARE_URL_RE.sub(lambda m: vault.put(m.group(0)), text)
    text = _emphasis(text, vault)
    return vault.restore(text)


def _code_span(code: str) -> str:
    code = code[1:-1] if len(code) > 2 and code[0] == code[-1] == " " else code
    return f"{_MONO}{code}{_MONO}" if code.strip() else code


def _link(vault: _Vault, label: str, url: str) -> str:
    if not url:
        return label
    stash = vault.put(url)
    if not label.strip() or label.strip().rstrip("/") == url.rstrip("/"):
        return stash
    return f"{label} ({stash})"


def _emphasis(text: str, vault: _Vault) -> str:
    def wrap(open_: str, close: str) -> Callable[[re.Match[str]], str]:
        # Converted markers go in the vault so later passes don't re-read `*b*` as italic.
        return lambda m: f"{vault.put(open_)}{m.group(1) or ''}{vault.put(close)}"

    text = _BOLD_ITALIC_RE.sub(wrap("*_", "_*"), text)
    text = _STAR_BOLD_RE.sub(wrap("*", "*"), text)
    text = _UNDERSCORE_BOLD_RE.sub(wrap("*", "*"), text)
    text = _STAR_ITALIC_RE.sub(wrap("_", "_"), text)
    return _STRIKE_RE.sub(wrap("~", "~"), text)
