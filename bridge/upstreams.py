"""The upstream clients the service talks to, built from settings in one place."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bridge.clients.chatwoot import ChatwootClient
from bridge.clients.chatwoot_platform import ChatwootPlatformClient
from bridge.clients.evolution import EvolutionClient
from bridge.clients.mailcow import MailcowClient
from bridge.clients.typebot import TypebotClient
from bridge.clock import Clock
from bridge.settings import Settings


@dataclass(frozen=True, slots=True)
class UpstreamTransports:
    """httpx transports per upstream; tests inject respx/mock transports here."""

    evolution: httpx.AsyncBaseTransport | None = None
    typebot: httpx.AsyncBaseTransport | None = None
    chatwoot: httpx.AsyncBaseTransport | None = None
    mailcow: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True, slots=True)
class Upstreams:
    evolution: EvolutionClient
    typebot: TypebotClient
    chatwoot: ChatwootClient
    chatwoot_platform: ChatwootPlatformClient | None
    mailcow: MailcowClient | None

    async def aclose(self) -> None:
        await self.evolution.aclose()
        await self.typebot.aclose()
        await self.chatwoot.aclose()
        if self.chatwoot_platform is not None:
            await self.chatwoot_platform.aclose()
        if self.mailcow is not None:
            await self.mailcow.aclose()


def _base(url: object) -> str:
    return str(url).rstrip("/")


def build_upstreams(
    settings: Settings, transports: UpstreamTransports | None, clock: Clock
) -> Upstreams:
    t = transports or UpstreamTransports()
    platform = None
    if settings.chatwoot_platform_token is not None:
        platform = ChatwootPlatformClient(
            base_url=_base(settings.chatwoot_url),
            platform_token=settings.chatwoot_platform_token.get_secret_value(),
            transport=t.chatwoot,
            clock=clock,
        )
    mailcow = None
    if settings.mailcow_url is not None and settings.mailcow_api_key is not None:
        mailcow = MailcowClient(
            base_url=_base(settings.mailcow_url),
            api_key=settings.mailcow_api_key.get_secret_value(),
            transport=t.mailcow,
            clock=clock,
        )
    return Upstreams(
        evolution=EvolutionClient(
            base_url=_base(settings.evolution_url),
            api_key=settings.evolution_api_key.get_secret_value(),
            transport=t.evolution,
            clock=clock,
        ),
        typebot=TypebotClient(
            base_url=_base(settings.typebot_url), transport=t.typebot, clock=clock
        ),
        chatwoot=ChatwootClient(
            base_url=_base(settings.chatwoot_url),
            api_token=settings.chatwoot_api_token.get_secret_value(),
            account_id=settings.chatwoot_account_id,
            transport=t.chatwoot,
            clock=clock,
        ),
        chatwoot_platform=platform,
        mailcow=mailcow,
    )
