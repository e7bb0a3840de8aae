"""A small nginx config reader for tests: directives and blocks as a tree (no includes, no Lua)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (\#[^\n]*)                              # comment
      | ("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')    # quoted argument
      | ([{};])                                # punctuation
      | ([^\s{};"'\#]+)                        # bare word
    )""",
    re.VERBOSE,
)


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None  # None for a simple `name args;`

    def find(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def walk(self) -> Iterator[Directive]:
        for d in self.block or []:
            yield d
            yield from d.walk()


def _tokens(text: str) -> Iterator[str]:
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            rest = text[pos:].strip()
            if rest:
                raise ValueError(f"cannot tokenize near: {rest[:40]!r}")
            return
        pos = match.end()
        comment, quoted, punct, word = match.groups()
        if comment is not None:
            continue
        if quoted is not None:
            yield quoted[1:-1]
        elif punct is not None:
            yield punct
        elif word is not None:
            yield word


def parse(text: str) -> Directive:
    """The whole file as the block of a root directive; raises ValueError on unbalanced input."""
    root = Directive("", [], [])
    stack = [root]
    words: list[str] = []
    for token in _tokens(text):
        if token == ";":
            if not words:
                raise ValueError("empty directive")
            assert stack[-1].block is not None
            stack[-1].block.append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            if not words:
                raise ValueError("block without a name")
            node = Directive(words[0], words[1:], [])
            assert stack[-1].block is not None
            stack[-1].block.append(node)
            stack.append(node)
            words = []
        elif token == "}":
            if words or len(stack) == 1:
                raise ValueError("unexpected '}'")
            stack.pop()
        else:
            words.append(token)
    if words or len(stack) != 1:
        raise ValueError("unterminated directive or block")
    return root
