"""Start every simulator on loopback ports and hand back their URLs, state and a closer."""

from __future__ import annotations

import asyncio
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.sim import chatwoot, chatwoot_http, evolution, evolution_state, mailcow, typebot
from bridge.sim.chatwoot_store import ChatwootState
from bridge.sim.evolution_webhooks import WebhookConfig
from bridge.sim.smtp import SmtpSinkServer, create_smtp_inspect_app

BRIDGE_EVENTS = [
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "MESSAGES_EDITED",
    "SEND_MESSAGE",
    "CONNECTION_UPDATE",
]


@dataclass
class SimCredentials:
    """Keys the simulators accept: random per stack unless given."""

    evolution_api_key: str = field(default_factory=lambda: secrets.token_hex(16).upper())
    evolution_instance: str = "mmall"
    typebot_public_id: str = "mm-triage"
    chatwoot_api_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    chatwoot_platform_token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    mailcow_api_key: str = field(
        default_factory=lambda: "-".join(secrets.token_hex(3).upper() for _ in range(5))
    )
    mail_domain: str = "mmallelectronics.co.za"


@dataclass
class SimStack:
    host: str
    credentials: SimCredentials
    urls: dict[str, str] = field(default_factory=dict)
    apps: dict[str, web.Application] = field(default_factory=dict)
    smtp: SmtpSinkServer | None = None
    _runners: list[web.AppRunner] = field(default_factory=list)

    @property
    def evolution(self) -> evolution_state.EvolutionState:
        return self.apps["evolution"][evolution_state.STATE_KEY]

    @property
    def typebot(self) -> typebot.TypebotState:
        return self.apps["typebot"][typebot.STATE_KEY]

    @property
    def chatwoot(self) -> ChatwootState:
        return self.apps["chatwoot"][chatwoot_http.STATE_KEY]

    @property
    def mailcow(self) -> mailcow.MailcowState:
        return self.apps["mailcow"][mailcow.STATE_KEY]

    def configure(
        self,
        *,
        bridge_url: str | None = None,
        evolution_webhook_secret: str | None = None,
        typebot_webhook_secret: str | None = None,
    ) -> None:
        """Point Evolution's instance webhook and Typebot's HTTP block at the bridge.

        Chatwoot's webhook URLs and secrets come from inbox creation through its API instead.
        """
        if bridge_url is not None:
            base = bridge_url.rstrip("/")
            self.typebot.http_url = f"{base}/webhooks/typebot"
            inst = self.evolution.instances[self.credentials.evolution_instance]
            headers = dict(inst.webhook.headers)
            inst.webhook = WebhookConfig(
                enabled=True,
                url=f"{base}/webhooks/evolution",
                headers=headers,
                events=list(BRIDGE_EVENTS),
            )
        if evolution_webhook_secret is not None:
            inst = self.evolution.instances[self.credentials.evolution_instance]
            inst.webhook.headers["X-Webhook-Secret"] = evolution_webhook_secret
        if typebot_webhook_secret is not None:
            self.typebot.http_headers["X-Webhook-Secret"] = typebot_webhook_secret

    async def aclose(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        if self.smtp is not None:
            await asyncio.to_thread(self.smtp.stop)
            self.smtp = None


async def _serve(stack: SimStack, name: str, app: web.Application, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((stack.host, port))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    stack._runners.append(runner)
    stack.apps[name] = app
    stack.urls[name] = f"http://{stack.host}:{sock.getsockname()[1]}"


async def start_simulators(
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
    credentials: SimCredentials | None = None,
) -> SimStack:
    """Ports by name (`evolution`, `typebot`, `chatwoot`, `mailcow`, `smtp`, `smtp_inspect`)."""
    creds = credentials or SimCredentials()
    ports = ports or {}
    stack = SimStack(host=host, credentials=creds)
    try:
        await _serve(
            stack,
            "evolution",
            evolution.create_evolution_app(
                api_key=creds.evolution_api_key, instance=creds.evolution_instance
            ),
            ports.get("evolution", 0),
        )
        stack.evolution.server_url = stack.urls["evolution"]
        await _serve(
            stack,
            "typebot",
            typebot.create_typebot_app(public_id=creds.typebot_public_id),
            ports.get("typebot", 0),
        )
        chatwoot_port = ports.get("chatwoot", 0)
        await _serve(
            stack,
            "chatwoot",
            chatwoot.create_chatwoot_app(
                api_token=creds.chatwoot_api_token, platform_token=creds.chatwoot_platform_token
            ),
            chatwoot_port,
        )
        stack.chatwoot.frontend_url = stack.urls["chatwoot"]
        await _serve(
            stack,
            "mailcow",
            mailcow.create_mailcow_app(api_key=creds.mailcow_api_key, domains=(creds.mail_domain,)),
            ports.get("mailcow", 0),
        )
        stack.smtp = SmtpSinkServer(host=host, port=ports.get("smtp", 0))
        await asyncio.to_thread(stack.smtp.start)
        stack.urls["smtp"] = f"smtp://{host}:{stack.smtp.port}"
        await _serve(
            stack,
            "smtp_inspect",
            create_smtp_inspect_app(stack.smtp.sink),
            ports.get("smtp_inspect", 0),
        )
    except BaseException:
        await stack.aclose()
        raise
    return stack


def describe(stack: SimStack) -> str:
    c = stack.credentials
    lines = [f"{name:<13} {url}" for name, url in stack.urls.items()]
    lines += [
        "",
        f"EVOLUTION_API_KEY={c.evolution_api_key}",
        f"EVOLUTION_INSTANCE={c.evolution_instance}",
        f"TYPEBOT_PUBLIC_ID={c.typebot_public_id}",
        f"CHATWOOT_API_TOKEN={c.chatwoot_api_token}",
        f"CHATWOOT_PLATFORM_TOKEN={c.chatwoot_platform_token}",
        f"MAILCOW_API_KEY={c.mailcow_api_key}",
        f"MAIL_DOMAIN={c.mail_domain}",
    ]
    return "\n".join(lines)


async def run_forever(stack: SimStack, *, out: Any = None) -> None:
    """Print the URLs and fake credentials, then serve until cancelled (Ctrl-C)."""
    print(describe(stack), file=out, flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await stack.aclose()
