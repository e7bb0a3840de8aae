"""Pydantic models of every upstream payload; one parse entry per source raising PayloadError."""

from __future__ import annotations

from bridge.schemas.chatwoot import ChatwootEvent, parse_chatwoot_webhook
from bridge.schemas.evolution import EvolutionEvent, parse_evolution_webhook
from bridge.schemas.mailcow import parse_mailcow_entries
from bridge.schemas.typebot import (
    parse_continue_chat,
    parse_start_chat,
    parse_typebot_handoff,
)

__all__ = [
    "ChatwootEvent",
    "EvolutionEvent",
    "parse_chatwoot_webhook",
    "parse_continue_chat",
    "parse_evolution_webhook",
    "parse_mailcow_entries",
    "parse_start_chat",
    "parse_typebot_handoff",
]
