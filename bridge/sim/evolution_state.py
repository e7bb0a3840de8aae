"""In-memory state of the Evolution API simulator: instances, sent messages, media, deliveries."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bridge.sim.evolution_webhooks import Delivery, RetryPolicy, WebhookConfig, deliver, envelope

DEFAULT_SETTINGS: dict[str, Any] = {
    "rejectCall": False,
    "msgCall": "",
    "groupsIgnore": False,
    "alwaysOnline": False,
    "readMessages": False,
    "readStatus": False,
    "syncFullHistory": False,
    "wavoipToken": "",
}


@dataclass
class EvolutionInstance:
    name: str
    token: str
    owner_jid: str
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    webhook_row_id: str = field(default_factory=lambda: uuid.uuid4().hex[:25])
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))


@dataclass
class StoredMedia:
    message_type: str
    mimetype: str
    caption: str | None
    file_name: str
    base64: str
    size: int


@dataclass
class EvolutionState:
    api_key: str
    server_url: str = "http://localhost:8080"
    instances: dict[str, EvolutionInstance] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    read_receipts: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    not_on_whatsapp: set[str] = field(default_factory=set)
    session: aiohttp.ClientSession | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def add_instance(self, name: str, *, token: str, owner_number: str) -> EvolutionInstance:
        inst = EvolutionInstance(name=name, token=token, owner_jid=f"{owner_number}@s.whatsapp.net")
        self.instances[name] = inst
        return inst

    def emit(self, inst: EvolutionInstance, event: str, data: dict[str, Any]) -> Delivery | None:
        """Fire-and-forget delivery of one event (each event has its own retry loop)."""
        cfg = inst.webhook
        if not cfg.wants(event) or self.session is None:
            return None
        url = cfg.url.rstrip("/") + "/" + event.replace(".", "-") if cfg.by_events else cfg.url
        body = envelope(
            event=event,
            instance=inst.name,
            data=data,
            destination=cfg.url,
            sender=inst.owner_jid,
            server_url=self.server_url,
        )
        key = data.get("key") if isinstance(data, dict) else None
        record = Delivery(
            event=event, url=url, message_id=key.get("id") if isinstance(key, dict) else None
        )
        self.deliveries.append(record)
        task = asyncio.create_task(deliver(self.session, cfg, body, self.retry, record))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return record

    async def drain(self) -> None:
        """Wait until every pending delivery has finished (tests and the demo)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


STATE_KEY = web.AppKey("evolution_state", EvolutionState)


async def client_session_ctx(app: web.Application) -> Any:
    state = app[STATE_KEY]
    state.session = aiohttp.ClientSession()
    yield
    for task in list(state.tasks):
        task.cancel()
    await asyncio.gather(*list(state.tasks), return_exceptions=True)
    await state.session.close()
    state.session = None
