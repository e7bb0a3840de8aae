"""Walks a Typebot export: runs blocks up to the next input, applies answers, runs HTTP blocks."""

from __future__ import annotations

import json
from typing import Any

from bridge.sim.typebot_flow import (
    INVALID_REPLY,
    FlowSession,
    HttpCaller,
    Turn,
    match_choice,
    plain_rich,
    substitute,
    text_message,
)

INPUT_TYPES = frozenset({"choice input", "text input"})
HTTP_TYPES = frozenset({"Webhook", "webhook", "http request"})


class FlowEngine:
    """Stateless over one flow definition; sessions carry the position and variables."""

    def __init__(
        self,
        flow: dict[str, Any],
        *,
        http_url: str | None = None,
        http_headers: dict[str, str] | None = None,
    ) -> None:
        self.flow = flow
        self.groups: list[dict[str, Any]] = list(flow.get("groups", []))
        self.edges = {e["id"]: e for e in flow.get("edges", [])}
        self.var_names = {v["id"]: v["name"] for v in flow.get("variables", [])}
        # Deployment overrides: the sim points the exported HTTP block at the bridge under test.
        self.http_url = http_url
        self.http_headers = http_headers or {}

    def new_session(self, prefilled: dict[str, Any]) -> FlowSession:
        names = set(self.var_names.values())
        variables: dict[str, str | None] = {n: None for n in names}
        for key, value in prefilled.items():
            if key in names:  # unknown names are silently ignored, as in Typebot
                variables[key] = (
                    ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                )
        return FlowSession(variables=variables)

    def _edge_target(self, edge_id: str | None) -> tuple[int, int] | None:
        edge = self.edges.get(edge_id or "")
        if edge is None:
            return None
        to = edge["to"]
        for gi, group in enumerate(self.groups):
            if group["id"] == to["groupId"]:
                ids = [b["id"] for b in group.get("blocks", [])]
                return gi, ids.index(to["blockId"]) if to.get("blockId") in ids else 0
        return None

    async def start(self, session: FlowSession, fmt: str, http: HttpCaller) -> Turn:
        events = [e for e in self.flow.get("events", []) if e.get("type") == "start"]
        target = self._edge_target(events[0].get("outgoingEdgeId")) if events else (0, 0)
        return await self._walk(session, target, fmt, http)

    async def _walk(
        self, session: FlowSession, target: tuple[int, int] | None, fmt: str, http: HttpCaller
    ) -> Turn:
        turn = Turn()
        while target is not None:
            gi, bi = target
            blocks = self.groups[gi].get("blocks", [])
            if bi >= len(blocks):
                target = None
                break
            block = blocks[bi]
            kind = block.get("type")
            if kind in INPUT_TYPES:
                session.group_index, session.block_index, session.waiting = gi, bi, True
                turn.input = self.input_payload(block)
                return turn
            if kind == "text":
                rich = block.get("content", {}).get("richText") or plain_rich("")
                turn.messages.append(text_message(block["id"], rich, session.variables, fmt))
            elif kind == "Set variable":
                self._set_variable(session, block.get("options", {}))
            elif kind in HTTP_TYPES:
                await self._http_block(session, block.get("options", {}), http)
            next_edge = block.get("outgoingEdgeId")
            target = self._edge_target(next_edge) if next_edge else (gi, bi + 1)
        session.waiting = False
        return turn

    def input_payload(self, block: dict[str, Any]) -> dict[str, Any]:
        payload = {k: v for k, v in block.items() if k not in ("outgoingEdgeId", "groupId")}
        payload.setdefault("options", {})
        return payload

    async def reply(
        self, session: FlowSession, text: str, reply_id: str | None, fmt: str, http: HttpCaller
    ) -> Turn:
        block = self.groups[session.group_index]["blocks"][session.block_index]
        if block.get("type") == "choice input":
            item = match_choice(block, text, reply_id)
            if item is None:
                retry = text_message(block["id"], plain_rich(INVALID_REPLY), {}, fmt)
                return Turn(messages=[retry], input=self.input_payload(block))
            answer = str(item.get("value") or item.get("content", ""))
            edge = item.get("outgoingEdgeId") or block.get("outgoingEdgeId")
        else:
            answer, edge = text, block.get("outgoingEdgeId")
        var_id = block.get("options", {}).get("variableId")
        if var_id in self.var_names:
            session.variables[self.var_names[var_id]] = answer
        target = self._edge_target(edge) if edge else (session.group_index, session.block_index + 1)
        return await self._walk(session, target, fmt, http)

    def _set_variable(self, session: FlowSession, options: dict[str, Any]) -> None:
        name = self.var_names.get(options.get("variableId", ""))
        if name is None:
            return
        if options.get("type") == "Empty":
            session.variables[name] = None
            return
        expression = str(options.get("expressionToEvaluate", "")).strip()
        if len(expression) >= 2 and expression[0] == expression[-1] and expression[0] in "'\"`":
            expression = expression[1:-1]  # a quoted JS string literal; no JS is evaluated here
        session.variables[name] = substitute(expression, session.variables)

    async def _http_block(
        self, session: FlowSession, options: dict[str, Any], http: HttpCaller
    ) -> None:
        hook = options.get("webhook") or {}
        url = substitute(self.http_url or str(hook.get("url", "")), session.variables)
        method = str(hook.get("method") or "POST").upper()
        headers = {
            substitute(h["key"], session.variables): substitute(h["value"], session.variables)
            for h in hook.get("headers", [])
            if h.get("key") and h.get("value")
        }
        headers.update(self.http_headers)
        body: str | None = None
        if method != "GET":
            raw = str(hook.get("body") or "")
            if options.get("isCustomBody") and raw and raw.strip() != "{{state}}":
                body = substitute(raw, session.variables, json_escape=True)
            else:
                data = {k: v for k, v in session.variables.items() if v is not None}
                body = json.dumps(data)
        # Non-2xx and errors do not stop the flow: it continues on the block's edge.
        await http(method, url, headers, body)
