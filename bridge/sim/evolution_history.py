"""Evolution's message history: `POST /chat/findMessages/{instance}` (needs DB saving on)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.sim.evolution_state import STATE_KEY, EvolutionInstance


async def find_messages(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    """`{where: {key: {remoteJid}}, page?, offset?}` → `{messages: {total, pages, currentPage,
    records}}`, newest first, like the Prisma query of `ChannelStartupService.fetchMessages`."""
    state = request.app[STATE_KEY]
    where = body.get("where")
    key = where.get("key") if isinstance(where, dict) else None
    remote_jid = key.get("remoteJid") if isinstance(key, dict) else None
    offset = int(body.get("offset") or 50)
    page = max(1, int(body.get("page") or 1))
    records = [
        s["response"]
        for s in state.sent
        if s["instance"] == inst.name
        and (remote_jid is None or s["response"]["key"]["remoteJid"] == remote_jid)
    ]
    records.sort(key=lambda r: int(r.get("messageTimestamp") or 0), reverse=True)
    chunk = records[(page - 1) * offset : page * offset]
    pages = (len(records) + offset - 1) // offset
    return web.json_response(
        {"messages": {"total": len(records), "pages": pages, "currentPage": page, "records": chunk}}
    )
