"""The whole routing table: stored event kind → flow handler, and the flows' outbox routes."""

from __future__ import annotations

from aiohttp import web

from bridge.delivery import ingest
from bridge.delivery.handlers import flow_outbox_routes
from bridge.flows import effects
from bridge.flows.agent_reply import (
    handle_agent_reply,
    handle_chatwoot_created,
    handle_whatsapp_send_failed,
    handle_whatsapp_sent,
)
from bridge.flows.chatwoot_handoff import handle_conversation_failed, handle_conversation_ready
from bridge.flows.context import FlowHandler
from bridge.flows.inbound_whatsapp import handle_whatsapp_message
from bridge.flows.resolve import handle_conversation_status
from bridge.flows.typebot_triage import (
    handle_typebot_failed,
    handle_typebot_handoff,
    handle_typebot_reply,
)
from bridge.keys import EVENT_ROUTES, OUTBOX_ROUTES

DONE, FAILED = ".done", ".failed"

EVENT_HANDLERS: dict[str, FlowHandler] = {
    ingest.KIND_WA_MESSAGE: handle_whatsapp_message,
    ingest.KIND_TB_HANDOFF: handle_typebot_handoff,
    ingest.KIND_CW_MESSAGE: handle_agent_reply,
    ingest.KIND_CW_STATUS: handle_conversation_status,
    effects.START_CHAT + DONE: handle_typebot_reply,
    effects.CONTINUE_CHAT + DONE: handle_typebot_reply,
    effects.START_CHAT + FAILED: handle_typebot_failed,
    effects.CONTINUE_CHAT + FAILED: handle_typebot_failed,
    effects.ENSURE_CONVERSATION + DONE: handle_conversation_ready,
    effects.ENSURE_CONVERSATION + FAILED: handle_conversation_failed,
    effects.CREATE_MESSAGE + DONE: handle_chatwoot_created,
    effects.SEND_TEXT + DONE: handle_whatsapp_sent,
    effects.SEND_MEDIA + DONE: handle_whatsapp_sent,
    effects.SEND_AUDIO + DONE: handle_whatsapp_sent,
    effects.SEND_CHOICES + DONE: handle_whatsapp_sent,
    effects.SEND_TEXT + FAILED: handle_whatsapp_send_failed,
    effects.SEND_MEDIA + FAILED: handle_whatsapp_send_failed,
    effects.SEND_AUDIO + FAILED: handle_whatsapp_send_failed,
}


def setup_flows(app: web.Application) -> None:
    app[EVENT_ROUTES].update(EVENT_HANDLERS)
    app[OUTBOX_ROUTES].update(flow_outbox_routes(app))
