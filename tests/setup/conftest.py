"""Fixtures: a simulator stack, settings pointing at it, a departments file without ids."""

from __future__ import annotations

import argparse
import io
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge.setup.cli import setup_main, verify_main
from bridge.setup.context import SetupCommandSettings
from bridge.setup.verify import VerifyOptions, VerifySettings
from bridge.sim.runner import SimStack, start_simulators

EVOLUTION_SECRET = "evo-webhook-secret-0123456789"
DTV_EMAIL = "support.dtv@mmallelectronics.co.za"
AUTO_REPLY = "Thank you for emailing DTV. Reference Ticket #{{conversation.display_id}}."
DEPARTMENTS = f"""# Departments (a comment setup must keep)

[[department]]
key = "DTV"
name = "DTV"
email = "{DTV_EMAIL}"   # the department mailbox
auto_reply = "{AUTO_REPLY}"

[[department]]
key = "Sales"
name = "Sales"
"""


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
async def stack() -> AsyncIterator[SimStack]:
    sims = await start_simulators()
    try:
        yield sims
    finally:
        await sims.aclose()


@pytest.fixture
async def bridge_url() -> AsyncIterator[str]:
    """A stand-in bridge answering /readyz (and 404 for everything else)."""

    async def readyz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
def departments_file(tmp_path: Path) -> Path:
    path = tmp_path / "departments.toml"
    path.write_text(DEPARTMENTS, encoding="utf-8")
    return path


def settings_values(stack: SimStack, departments_file: Path, bridge_url: str) -> dict[str, Any]:
    c = stack.credentials
    return {
        "bridge_public_url": bridge_url,
        "bridge_departments_file": departments_file,
        "evolution_url": stack.urls["evolution"],
        "evolution_api_key": c.evolution_api_key,
        "evolution_instance": c.evolution_instance,
        "evolution_webhook_secret": EVOLUTION_SECRET,
        "chatwoot_url": stack.urls["chatwoot"],
        "chatwoot_account_id": 1,
        "chatwoot_api_token": c.chatwoot_api_token,
        "chatwoot_platform_token": c.chatwoot_platform_token,
        "mailcow_url": stack.urls["mailcow"],
        "mailcow_api_key": c.mailcow_api_key,
        "mail_domain": c.mail_domain,
        "mail_imap_host": "mail.mmallelectronics.co.za",
        "mail_smtp_host": "mail.mmallelectronics.co.za",
    }


@pytest.fixture
def setup_settings(
    stack: SimStack, departments_file: Path, bridge_url: str
) -> SetupCommandSettings:
    return SetupCommandSettings(
        _env_file=None,  # type: ignore[call-arg]
        **settings_values(stack, departments_file, bridge_url),
    )


def verify_settings(
    stack: SimStack, departments_file: Path, bridge_url: str, secrets: str
) -> VerifySettings:
    return VerifySettings(
        _env_file=None,  # type: ignore[call-arg]
        chatwoot_webhook_secrets=secrets,
        **settings_values(stack, departments_file, bridge_url),
    )


async def run_setup_cli(
    settings: SetupCommandSettings, *, dry_run: bool = False, secrets_out: Path | None = None
) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    args = argparse.Namespace(dry_run=dry_run, secrets_out=secrets_out)
    code = await setup_main(args, settings, out=out, err=err)
    return Outcome(code, out.getvalue(), err.getvalue())


async def run_verify_cli(settings: VerifySettings, options: VerifyOptions) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    code = await verify_main(argparse.Namespace(), settings, options=options, out=out, err=err)
    return Outcome(code, out.getvalue(), err.getvalue())


def plan_rows(output: str) -> list[str]:
    """The action column of the plan table (rows after the header, before the summary)."""
    lines = output.splitlines()
    rows = []
    for line in lines[1:]:
        word = line.split(" ", 1)[0]
        if word not in ("create", "update", "keep"):
            break
        rows.append(word)
    return rows


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return port
