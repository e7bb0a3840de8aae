"""A small Typebot flow interpreter: text bubbles, choice input, Set variable, HTTP request, end."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

VAR_RE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
INVALID_REPLY = "Invalid message. Please, try again."
HANDOFF_BODY = (
    '{"bridge_contact": "{{bridge_contact}}", "department": "{{department}}", "name": "{{name}}"}'
)
HttpCaller = Callable[[str, str, dict[str, str], str | None], Awaitable[int | None]]


def default_flow(
    *,
    http_url: str = "http://127.0.0.1:8080/webhooks/typebot",
    http_secret: str = "change-me",  # noqa: S107
) -> dict[str, Any]:
    """The triage bot of DESIGN.md as a Typebot v6 export (ids as in the contract samples)."""
    choice_id = "z2x4c6v8b0n1m3q5w7e9r2t4"

    def text(block_id: str, leaf: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": block_id,
            "type": "text",
            "content": {"richText": [{"type": "p", "children": [leaf]}]},
        }

    return {
        "version": "6",
        "id": "cm7q1x9zk000308l2h6v5d3ab",
        "name": "Triage",
        "publicId": "mm-triage",
        "settings": {},
        "theme": {},
        "events": [
            {
                "id": "ev0start0000000000000001",
                "type": "start",
                "outgoingEdgeId": "e0start00000000000000001",
            }
        ],
        "variables": [
            {"id": "vm4k8q2w6e0r9t3y7u1i5o2p", "name": "department"},
            {"id": "vb8c3ntct0000000000000001", "name": "bridge_contact"},
            {"id": "vn4m3000000000000000001a", "name": "name"},
        ],
        "groups": [
            {
                "id": "g1welcome000000000000001",
                "title": "Welcome",
                "blocks": [
                    text("u1k9w3e7r5t2y8i4o6p0a2s4", {"text": "Welcome! 👋"}),
                    text("h7g5f3d1s9a8q6w4e2r0t1y3", {"text": "Choose Department:", "bold": True}),
                    {
                        "id": choice_id,
                        "type": "choice input",
                        "items": [
                            {
                                "id": "p6w0e3r8t1y5u9i2o7a4s0d3",
                                "outgoingEdgeId": "e1q8w3e5r7t9y2u4i6o8p0a1",
                                "content": "DTV",
                            },
                            {
                                "id": "f5g9h2j6k0l4z8x1c7v3b5n9",
                                "outgoingEdgeId": "e2s9d1f3g5h7j9k2l4z6x8c0",
                                "content": "Sales",
                            },
                        ],
                        "options": {"variableId": "vm4k8q2w6e0r9t3y7u1i5o2p"},
                    },
                ],
            },
            {
                "id": "g2handoff000000000000001",
                "title": "Handoff",
                "blocks": [
                    {
                        "id": "w1http0000000000000000001",
                        "type": "Webhook",
                        "options": {
                            "isCustomBody": True,
                            "webhook": {
                                "url": http_url,
                                "method": "POST",
                                "body": HANDOFF_BODY,
                                "headers": [
                                    {"id": "hd1", "key": "X-Webhook-Secret", "value": http_secret}
                                ],
                                "queryParams": [],
                            },
                        },
                    },
                    text(
                        "n8b6v4c2x0z9l7k5j3h1g2f4",
                        {
                            "text": "Thanks! We're connecting you to our "
                            "{{department}} team. An agent will reply here shortly."
                        },
                    ),
                ],
            },
        ],
        "edges": [
            {
                "id": "e0start00000000000000001",
                "from": {"eventId": "ev0start0000000000000001"},
                "to": {"groupId": "g1welcome000000000000001"},
            },
            {
                "id": "e1q8w3e5r7t9y2u4i6o8p0a1",
                "from": {"blockId": choice_id, "itemId": "p6w0e3r8t1y5u9i2o7a4s0d3"},
                "to": {"groupId": "g2handoff000000000000001"},
            },
            {
                "id": "e2s9d1f3g5h7j9k2l4z6x8c0",
                "from": {"blockId": choice_id, "itemId": "f5g9h2j6k0l4z8x1c7v3b5n9"},
                "to": {"groupId": "g2handoff000000000000001"},
            },
        ],
    }


@dataclass
class FlowSession:
    """Where a session waits (group/block index of its input) and its variables by name."""

    variables: dict[str, str | None]
    group_index: int = 0
    block_index: int = 0
    waiting: bool = False


@dataclass
class Turn:
    messages: list[dict[str, Any]] = field(default_factory=list)
    input: dict[str, Any] | None = None


def substitute(text: str, variables: dict[str, str | None], *, json_escape: bool = False) -> str:
    def one(match: re.Match[str]) -> str:
        value = variables.get(match.group(1)) or ""
        return json.dumps(value)[1:-1] if json_escape else value

    return VAR_RE.sub(one, text)


def _render_rich_text(
    rich: list[dict[str, Any]], variables: dict[str, str | None]
) -> list[dict[str, Any]]:
    """Variables become their own leaves with the marks of the leaf they sat in (like Typebot)."""
    out = []
    for node in rich:
        children = []
        for leaf in node.get("children", []):
            if "text" not in leaf:
                children.append(leaf)
                continue
            marks = {k: v for k, v in leaf.items() if k != "text"}
            for i, part in enumerate(VAR_RE.split(leaf["text"])):
                piece = (variables.get(part) or "") if i % 2 else part
                if piece:
                    children.append({"text": piece, **marks})
        out.append({**node, "children": children})
    return out


def _markdown(rich: list[dict[str, Any]]) -> str:
    lines = []
    for node in rich:
        parts = []
        for leaf in node.get("children", []):
            t = str(leaf.get("text", ""))
            if leaf.get("bold"):
                t = f"**{t}**"
            if leaf.get("italic"):
                t = f"_{t}_"
            parts.append(t)
        lines.append("".join(parts))
    return "\n".join(lines)


def text_message(
    block_id: str, rich: list[dict[str, Any]], variables: dict[str, str | None], fmt: str
) -> dict[str, Any]:
    rendered = _render_rich_text(rich, variables)
    content: dict[str, Any] = (
        {"type": "markdown", "markdown": _markdown(rendered)}
        if fmt == "markdown"
        else {"type": "richText", "richText": rendered}
    )
    return {"id": block_id, "type": "text", "content": content}


def plain_rich(text: str) -> list[dict[str, Any]]:
    return [{"type": "p", "children": [{"text": text}]}]


def match_choice(block: dict[str, Any], text: str, reply_id: str | None) -> dict[str, Any] | None:
    """`parseSingleChoiceReply`: replyId, id, value, trimmed content; case-sensitive, no index."""
    items: list[dict[str, Any]] = sorted(
        block.get("items", []), key=lambda i: len(str(i.get("content", ""))), reverse=True
    )
    for item in items:
        if reply_id is not None and reply_id == item.get("id"):
            return item
    for item in items:
        value = str(item.get("value") or "").strip()
        if text == item.get("id") or (value and text.strip() == value):
            return item
        if text.strip() == str(item.get("content", "")).strip():
            return item
    return None
