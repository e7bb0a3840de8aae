"""Typed HTTP clients, one per upstream; each method is one remote call with one attempt."""

from __future__ import annotations

from bridge.clients.base import UpstreamHttp, classify_failure
from bridge.clients.chatwoot import ChatwootClient, CwUpload
from bridge.clients.chatwoot_platform import ChatwootPlatformClient
from bridge.clients.evolution import BRIDGE_WEBHOOK_EVENTS, EvolutionClient, EvoMessageKey
from bridge.clients.http import TransportFailure, UpstreamResponse
from bridge.clients.mailcow import MailcowClient, MailcowError
from bridge.clients.typebot import TypebotClient, TypebotSessionGone

__all__ = [
    "BRIDGE_WEBHOOK_EVENTS",
    "ChatwootClient",
    "ChatwootPlatformClient",
    "CwUpload",
    "EvoMessageKey",
    "EvolutionClient",
    "MailcowClient",
    "MailcowError",
    "TransportFailure",
    "TypebotClient",
    "TypebotSessionGone",
    "UpstreamHttp",
    "UpstreamResponse",
    "classify_failure",
]
