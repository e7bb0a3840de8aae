"""One Chromium per module, the real bridge app and a Chatwoot simulator on loopback ports."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from bridge.app import create_app
from bridge.keys import REPOSITORY
from bridge.sim.chatwoot import create_chatwoot_app
from bridge.sim.chatwoot_store import ChatwootState
from bridge.state.database import Database
from provisioning.identity.config import IDENTITY
from tests.factories import make_departments, make_settings
from tests.identity.harness import CW_API_TOKEN, CW_PLATFORM_TOKEN, HASHER, chatwoot_state

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package "
            "(apt-get install -y chromium); the browser tests never download a browser"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


async def _serve(app: web.Application, sock: socket.socket) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Portal:
    url: str
    app: web.Application
    chatwoot_url: str
    chatwoot: ChatwootState

    @property
    def db(self) -> Database:
        return self.app[REPOSITORY].database


@pytest_asyncio.fixture(loop_scope="module")
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    """The bridge on a real loopback port (BRIDGE_PUBLIC_URL = that address) and Chatwoot."""
    cw_app = create_chatwoot_app(api_token=CW_API_TOKEN, platform_token=CW_PLATFORM_TOKEN)
    cw_sock, bridge_sock = _bound_socket(), _bound_socket()
    cw_url = f"http://127.0.0.1:{cw_sock.getsockname()[1]}"
    bridge_url = f"http://127.0.0.1:{bridge_sock.getsockname()[1]}"
    chatwoot_state(cw_app).frontend_url = cw_url
    cw_runner = await _serve(cw_app, cw_sock)
    settings = make_settings(
        bridge_public_url=bridge_url,
        bridge_database_url=f"sqlite:///{tmp_path / 'bridge.db'}",
        chatwoot_url=cw_url,
        chatwoot_api_token=CW_API_TOKEN,
        chatwoot_platform_token=CW_PLATFORM_TOKEN,
    )
    app = create_app(settings, departments=make_departments())
    app[IDENTITY].hasher = HASHER
    bridge_runner = await _serve(app, bridge_sock)
    try:
        yield Portal(bridge_url, app, cw_url, chatwoot_state(cw_app))
    finally:
        await bridge_runner.cleanup()
        await cw_runner.cleanup()


@pytest_asyncio.fixture(loop_scope="module")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh profile (no cookies) per test."""
    ctx = await browser.new_context()
    ctx.set_default_timeout(10_000)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


class Screenshots:
    """Numbered screenshots of one test's steps under test-artifacts/browser/."""

    def __init__(self, test_name: str) -> None:
        self._prefix = re.sub(r"[^A-Za-z0-9_]+", "_", test_name)
        self._count = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def take(self, page: Page, step: str) -> Path:
        self._count += 1
        path = ARTIFACTS / f"{self._prefix}-{self._count:02d}-{step}.png"
        await page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Screenshots:
    return Screenshots(request.node.name)
