"""The whole system on one machine: simulators, `bridge setup` against them, the bridge running.

Used by `bridge demo`, by the end-to-end tests and by the benchmark, so all three exercise the
same wiring as production: real HTTP on loopback, signed webhooks, setup-created inboxes.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bridge.app import create_app
from bridge.departments import load_departments
from bridge.settings import Settings
from bridge.setup.context import SetupClients, SetupCommandSettings, Targets
from bridge.setup.run import run_setup
from bridge.sim.runner import SimStack, start_simulators

DEMO_DEPARTMENTS = """# Demo departments (ids are filled in by `bridge setup`)

[[department]]
key = "DTV"
name = "DTV"
email = "support.dtv@mmallelectronics.co.za"
auto_reply = "Thank you for emailing DTV. Reference Ticket #{{conversation.display_id}}."

[[department]]
key = "Sales"
name = "Sales"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveStack:
    sims: SimStack
    settings: Settings
    app: web.Application
    runner: web.AppRunner
    bridge_url: str
    departments_file: Path

    async def aclose(self) -> None:
        await self.runner.cleanup()
        await self.sims.aclose()


def _upstream_values(sims: SimStack, bridge_url: str, departments_file: Path) -> dict[str, Any]:
    c = sims.credentials
    return {
        "bridge_public_url": bridge_url,
        "bridge_departments_file": departments_file,
        "evolution_url": sims.urls["evolution"],
        "evolution_api_key": c.evolution_api_key,
        "evolution_instance": c.evolution_instance,
        "evolution_webhook_secret": secrets.token_urlsafe(24),
        "chatwoot_url": sims.urls["chatwoot"],
        "chatwoot_account_id": 1,
        "chatwoot_api_token": c.chatwoot_api_token,
        "chatwoot_platform_token": c.chatwoot_platform_token,
        "mailcow_url": sims.urls["mailcow"],
        "mailcow_api_key": c.mailcow_api_key,
        "mail_domain": c.mail_domain,
    }


async def configured_settings(
    sims: SimStack,
    workdir: Path,
    *,
    port: int,
    database_url: str | None = None,
    log_format: str = "console",
    **overrides: Any,
) -> Settings:
    """Run `bridge setup` against the simulators and return the bridge's settings for them."""
    bridge_url = f"http://127.0.0.1:{port}"
    departments_file = workdir / "departments.toml"
    departments_file.write_text(DEMO_DEPARTMENTS, encoding="utf-8")
    upstream = _upstream_values(sims, bridge_url, departments_file)
    setup_settings = SetupCommandSettings(_env_file=None, **upstream)
    clients = SetupClients.from_settings(setup_settings, None)
    try:
        result = await run_setup(
            Targets.from_settings(setup_settings),
            load_departments(departments_file),
            clients,
            departments_file,
            dry_run=False,
        )
    finally:
        await clients.aclose()
    webhook_secrets = ",".join(
        s.secret.get_secret_value() for s in result.secrets if s.secret is not None
    )
    values: dict[str, Any] = {
        **upstream,
        "bridge_host": "127.0.0.1",
        "bridge_port": port,
        "bridge_database_url": database_url or f"sqlite:///{workdir / 'bridge.db'}",
        "bridge_admin_token": secrets.token_urlsafe(24),
        "bridge_log_format": log_format,
        "typebot_url": sims.urls["typebot"],
        "typebot_public_id": sims.credentials.typebot_public_id,
        "typebot_webhook_secret": secrets.token_urlsafe(24),
        "chatwoot_webhook_secrets": webhook_secrets,
        "smtp_host": "127.0.0.1",
        "smtp_port": int(sims.urls["smtp"].rsplit(":", 1)[1]),
        "smtp_tls": "none",
        "smtp_from": "hub@mmallelectronics.co.za",
        "hub_sso_secret": secrets.token_urlsafe(32),
        **overrides,
    }
    settings = Settings(_env_file=None, **values)
    sims.configure(
        bridge_url=bridge_url,
        evolution_webhook_secret=settings.evolution_webhook_secret.get_secret_value(),
        typebot_webhook_secret=settings.typebot_webhook_secret.get_secret_value(),
    )
    return settings


async def start_stack(
    workdir: Path, *, database_url: str | None = None, **overrides: Any
) -> LiveStack:
    """Start everything; `overrides` are extra Settings values (e.g. the session timeout)."""
    sims = await start_simulators()
    try:
        port = free_port()
        settings = await configured_settings(
            sims, workdir, port=port, database_url=database_url, **overrides
        )
        departments = load_departments(settings.bridge_departments_file)
        departments.require_inbox_ids()
        app = create_app(settings, departments=departments)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    except BaseException:
        await sims.aclose()
        raise
    bridge_url = f"http://127.0.0.1:{port}"
    return LiveStack(sims, settings, app, runner, bridge_url, settings.bridge_departments_file)
