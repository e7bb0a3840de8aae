"""config/typebot/triage-flow.json: a valid v6 export wired to the bridge's handoff contract."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.config.files import TYPEBOT_VAR_RE, department_keys, load_json, read_text

FLOW_FILE = "typebot/triage-flow.json"
HANDOFF_BODY = (
    '{"bridge_contact": "{{bridge_contact}}", "department": "{{department}}", "name": "{{name}}"}'
)
# Top-level keys of a builder export (packages/typebot/src/schemas/typebot.ts, typebotV6Schema).
EXPORT_KEYS = {
    "version", "id", "name", "events", "groups", "edges", "variables", "theme",
    "selectedThemeTemplateId", "settings", "createdAt", "updatedAt", "icon", "folderId",
    "publicId", "customDomain", "workspaceId", "resultsTablePreferences", "isArchived",
    "isClosed", "whatsAppCredentialsId", "riskLevel",
}  # fmt: skip
CUID_RE = re.compile(r"^[a-z][a-z0-9]{23,24}$")


@pytest.fixture(scope="module")
def flow() -> dict[str, Any]:
    data: dict[str, Any] = load_json(FLOW_FILE)
    return data


def _blocks(flow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for group in flow["groups"]:
        yield from group["blocks"]


def _one_block(flow: dict[str, Any], block_type: str) -> dict[str, Any]:
    found = [b for b in _blocks(flow) if b["type"] == block_type]
    assert len(found) == 1, f"expected one {block_type!r} block, found {len(found)}"
    return found[0]


def _var_names(flow: dict[str, Any]) -> dict[str, str]:
    return {v["id"]: v["name"] for v in flow["variables"]}


def test_is_a_version_6_export_with_every_top_level_key(flow: dict[str, Any]) -> None:
    assert flow["version"] == "6"
    assert set(flow) == EXPORT_KEYS
    assert [e["type"] for e in flow["events"]] == ["start"]
    assert isinstance(flow["isArchived"], bool)
    assert flow["isArchived"] is False
    assert flow["isClosed"] is False


def test_ids_are_unique_and_cuid_like(flow: dict[str, Any]) -> None:
    ids = [e["id"] for e in flow["events"]] + [e["id"] for e in flow["edges"]]
    ids += [v["id"] for v in flow["variables"]]
    for group in flow["groups"]:
        ids.append(group["id"])
        for block in group["blocks"]:
            ids.append(block["id"])
            ids += [item["id"] for item in block.get("items", [])]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if not CUID_RE.match(i)] == []


def test_every_edge_joins_existing_nodes(flow: dict[str, Any]) -> None:
    groups = {g["id"]: {b["id"] for b in g["blocks"]} for g in flow["groups"]}
    blocks = {b["id"]: b for b in _blocks(flow)}
    events = {e["id"] for e in flow["events"]}
    for edge in flow["edges"]:
        source, target = edge["from"], edge["to"]
        if "eventId" in source:
            assert source["eventId"] in events, edge
        else:
            assert source["blockId"] in blocks, edge
            if "itemId" in source:
                items = {i["id"] for i in blocks[source["blockId"]].get("items", [])}
                assert source["itemId"] in items, edge
        assert target["groupId"] in groups, edge
        if "blockId" in target:
            assert target["blockId"] in groups[target["groupId"]], edge


def test_outgoing_edge_ids_point_back_at_their_owner(flow: dict[str, Any]) -> None:
    edges = {e["id"]: e for e in flow["edges"]}
    owners: list[tuple[str, dict[str, str]]] = [
        (e["outgoingEdgeId"], {"eventId": e["id"]}) for e in flow["events"]
    ]
    for block in _blocks(flow):
        if "outgoingEdgeId" in block:
            owners.append((block["outgoingEdgeId"], {"blockId": block["id"]}))
        for item in block.get("items", []):
            if "outgoingEdgeId" in item:
                owners.append(
                    (item["outgoingEdgeId"], {"blockId": block["id"], "itemId": item["id"]})
                )
    assert sorted(edge_id for edge_id, _ in owners) == sorted(edges)
    for edge_id, source in owners:
        assert edges[edge_id]["from"] == source


def _walk(flow: dict[str, Any], choice_item: str) -> list[dict[str, Any]]:
    """Blocks in run order from the start event, taking `choice_item` at the choice input."""
    edges = {e["id"]: e for e in flow["edges"]}
    groups = {g["id"]: g["blocks"] for g in flow["groups"]}
    target = edges[flow["events"][0]["outgoingEdgeId"]]["to"]
    path: list[dict[str, Any]] = []
    while target is not None and len(path) < 50:
        blocks = groups[target["groupId"]]
        ids = [b["id"] for b in blocks]
        start = ids.index(target["blockId"]) if "blockId" in target else 0
        target = None
        for block in blocks[start:]:
            path.append(block)
            edge_id = block.get("outgoingEdgeId")
            if block["type"] == "choice input":
                item = next(i for i in block["items"] if i["content"] == choice_item)
                edge_id = item.get("outgoingEdgeId", edge_id)
            if edge_id is not None:
                target = edges[edge_id]["to"]
                break
    return path


def _plain_text(block: dict[str, Any]) -> str:
    return "".join(
        leaf.get("text", "") for node in block["content"]["richText"] for leaf in node["children"]
    )


@pytest.mark.parametrize("department", department_keys())
def test_runs_welcome_menu_handoff_goodbye_then_ends(flow: dict[str, Any], department: str) -> None:
    path = _walk(flow, department)
    assert [b["type"] for b in path] == ["text", "text", "choice input", "Webhook", "text"]
    assert _plain_text(path[0]) == "Welcome! 👋"
    menu_leaf = path[1]["content"]["richText"][0]["children"][0]
    assert menu_leaf == {"text": "Choose Department:", "bold": True}
    goodbye = "Thanks! We're connecting you to our {{department}} team"
    assert _plain_text(path[4]).startswith(goodbye)
    assert "outgoingEdgeId" not in path[4]  # nothing after the goodbye: the flow ends


def test_choice_items_are_exactly_the_departments(flow: dict[str, Any]) -> None:
    choice = _one_block(flow, "choice input")
    contents = [item["content"] for item in choice["items"]]
    assert contents == ["DTV", "Sales"]
    assert sorted(c.casefold() for c in contents) == sorted(k.casefold() for k in department_keys())
    assert _var_names(flow)[choice["options"]["variableId"]] == "department"
    assert not choice["options"].get("isMultipleChoice", False)
    # No internal values: the saved answer (and the callback's department) is the label itself.
    assert all("value" not in item for item in choice["items"])


def test_http_block_posts_the_handoff_body_with_the_secret_header(flow: dict[str, Any]) -> None:
    block = _one_block(flow, "Webhook")
    options = block["options"]
    hook = options["webhook"]
    assert options["isCustomBody"] is True
    assert options.get("isExecutedOnClient", False) is False  # must run on the Typebot server
    assert hook["method"] == "POST"
    assert hook["url"].startswith("https://")
    assert hook["url"].endswith("/webhooks/typebot")
    assert [h["key"] for h in hook["headers"]] == ["X-Webhook-Secret"]
    assert "TYPEBOT_WEBHOOK_SECRET" in hook["headers"][0]["value"]
    assert hook["body"] == HANDOFF_BODY
    samples = {"bridge_contact": 'c-1 "quoted"', "department": "DTV", "name": "Thandi\nN."}
    # Typebot JSON-escapes values substituted into a JSON body string.
    rendered = TYPEBOT_VAR_RE.sub(lambda m: json.dumps(samples[m.group(1)])[1:-1], hook["body"])
    assert json.loads(rendered) == samples


def test_every_variable_used_is_declared(flow: dict[str, Any]) -> None:
    names = set(_var_names(flow).values())
    assert {"bridge_contact", "department", "name", "phone"} <= names
    used = set(TYPEBOT_VAR_RE.findall(json.dumps(flow, ensure_ascii=False)))
    assert used, "the flow references variables"
    assert used <= names, f"undeclared: {sorted(used - names)}"
    referenced_ids = {
        b["options"]["variableId"] for b in _blocks(flow) if "variableId" in b.get("options", {})
    }
    assert referenced_ids <= set(_var_names(flow))


def test_readme_covers_install_ssrf_and_timeout() -> None:
    readme = read_text("typebot/README.md")
    for needle in (
        "TYPEBOT_PUBLIC_ID",
        "TYPEBOT_WEBHOOK_SECRET",
        "SSRF_ALLOWED_HOSTS",
        "CHAT_API_TIMEOUT",
        "Publish",
        "/webhooks/typebot",
    ):
        assert needle in readme, needle
