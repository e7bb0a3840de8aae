"""The webhook endpoints: authenticate, validate, store (deduplicated), answer — nothing else.

A 200 means the event is committed. Processing happens after the answer, in the contact's lane,
so Chatwoot (which never retries and fails slow answers) always gets a fast 200.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bridge.delivery import ingest
from bridge.errors import PayloadError, StorageUnavailable
from bridge.keys import CLOCK, DEPARTMENTS, INBOX, METRICS, PRESSURE, REPOSITORY, SETTINGS
from bridge.schemas.chatwoot import CwConversationEvent, CwMessageEvent, parse_chatwoot_webhook
from bridge.schemas.evolution import (
    MessagesUpsertEvent,
    normalise_event_name,
    parse_evolution_webhook,
)
from bridge.schemas.typebot import parse_typebot_handoff
from bridge.state.priority import urgent_storage
from bridge.state.records import InboundEvent
from bridge.web.bodies import decode_json, read_raw_json, require_json_content_type
from bridge.web.errors import ApiError
from bridge.web.webhook_auth import check_chatwoot, check_evolution, check_static_secret

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.Response]]


# Callers give up after ~30 s (Evolution) or less; a storage that cannot take the event in this
# time answers 503 well before, so the caller retries instead of guessing.
STORE_DEADLINE_S = 10.0


def _bounded(handler: Handler) -> Handler:
    """The body is read first (a slow sender's time is not the storage's), then a deadline."""

    async def bounded(request: web.Request) -> web.Response:
        await request.read()
        try:
            async with asyncio.timeout(STORE_DEADLINE_S):
                with urgent_storage():
                    return await handler(request)
        except TimeoutError:
            raise StorageUnavailable(
                f"storing the webhook took longer than {STORE_DEADLINE_S:g} s"
            ) from None

    return bounded


def _counted(source: str, handler: Handler) -> Handler:
    """Counts refused deliveries (401/4xx) per source; accepted ones are counted in `_store`."""

    async def counted(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (ApiError, PayloadError):
            metrics = request.app[METRICS]
            metrics.child(metrics.webhooks, source, "rejected").inc()
            raise

    return counted


# The three answers, encoded once: every webhook gets one of them.
_IGNORED = json.dumps({"ok": True, "stored": False}).encode()
_STORED = json.dumps({"ok": True, "stored": True, "duplicate": False}).encode()
_DUPLICATE = json.dumps({"ok": True, "stored": False, "duplicate": True}).encode()


def _answer(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json")


async def _store(
    request: web.Request, source: str, event: InboundEvent | ingest.Skip
) -> web.Response:
    metrics = request.app[METRICS]
    if isinstance(event, ingest.Skip):
        # Half of all webhooks are echoes of the bridge's own messages: counted, logged at DEBUG.
        log.debug("webhook acknowledged, not stored: %s", event.reason)
        metrics.child(metrics.webhooks, source, "ignored").inc()
        return _answer(_IGNORED)
    repository = request.app[REPOSITORY]
    stored = await repository.record_inbound(event)
    metrics.child(metrics.webhooks, source, "stored" if stored else "duplicate").inc()
    if stored:
        request.app[PRESSURE].stored()
    # Poke the lane for duplicates too: the first copy may be stored but not yet processed.
    request.app[INBOX].poke(event.contact_id)
    return _answer(_STORED if stored else _DUPLICATE)


async def handle_evolution_webhook(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    check_evolution(request, settings.evolution_webhook_secret, request.app[CLOCK].now_ms())
    raw: bytes | None
    raw, document = await read_raw_json(request)
    path_event = request.match_info.get("event")
    if path_event and isinstance(document, dict) and "event" not in document:
        document["event"] = normalise_event_name(path_event)
        raw = None  # the stored payload is the completed document
    parsed = parse_evolution_webhook(document)
    if not isinstance(parsed, MessagesUpsertEvent):
        return await _store(
            request, ingest.EVOLUTION, ingest.Skip(f"evolution {parsed.event} is not acted on")
        )
    repository = request.app[REPOSITORY]
    # A new customer's contact and first event share one commit on SQLite.
    async with repository.grouped():
        event = await ingest.whatsapp_message_event(
            repository, parsed, document, request.app[CLOCK].now_ms(), raw_body=raw
        )
        return await _store(request, ingest.EVOLUTION, event)


async def handle_chatwoot_webhook(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    # The signature covers the raw bytes: check it before looking at what they say.
    raw_body = await request.read()
    check_chatwoot(
        request,
        raw_body,
        settings.chatwoot_webhook_secret_list,
        settings.chatwoot_webhook_token,
        request.app[CLOCK].now_ms() / 1000,
    )
    require_json_content_type(request)
    document = decode_json(raw_body)
    parsed = parse_chatwoot_webhook(document)
    repository = request.app[REPOSITORY]
    now_ms = request.app[CLOCK].now_ms()
    event: InboundEvent | ingest.Skip
    if isinstance(parsed, CwMessageEvent):
        event = await ingest.chatwoot_message_event(repository, parsed, document, now_ms, raw_body)
    elif isinstance(parsed, CwConversationEvent):
        delivery = request.headers.get("X-Chatwoot-Delivery")
        event = await ingest.chatwoot_status_event(
            repository, parsed, document, raw_body, delivery, now_ms
        )
    else:
        event = ingest.Skip(f"chatwoot {parsed.event} is not acted on")
    return await _store(request, ingest.CHATWOOT, event)


async def handle_typebot_webhook(request: web.Request) -> web.Response:
    check_static_secret(request, request.app[SETTINGS].typebot_webhook_secret)
    _, document = await read_raw_json(request)
    handoff = parse_typebot_handoff(document)
    departments = request.app[DEPARTMENTS]
    department = departments.find(handoff.department)
    if department is None:
        raise ApiError(
            422,
            "unknown_department",
            f"unknown department {handoff.department!r}; valid: {', '.join(departments.keys)}",
            path="department",
        )
    contact_id = ingest.contact_id_from_token(handoff.bridge_contact)
    repository = request.app[REPOSITORY]
    if contact_id is None or await repository.get_contact(contact_id) is None:
        raise ApiError(
            422, "unknown_contact", "bridge_contact does not name a contact", path="bridge_contact"
        )
    event = ingest.typebot_handoff_event(handoff, contact_id, document, request.app[CLOCK].now_ms())
    await _store(request, ingest.TYPEBOT, event)
    return web.json_response({"ok": True, "department": department.key})


def add_webhook_routes(app: web.Application) -> None:
    evolution = _counted(ingest.EVOLUTION, _bounded(handle_evolution_webhook))
    app.router.add_post("/webhooks/evolution", evolution)
    app.router.add_post("/webhooks/evolution/{event}", evolution)
    app.router.add_post(
        "/webhooks/chatwoot", _counted(ingest.CHATWOOT, _bounded(handle_chatwoot_webhook))
    )
    app.router.add_post(
        "/webhooks/typebot", _counted(ingest.TYPEBOT, _bounded(handle_typebot_webhook))
    )
