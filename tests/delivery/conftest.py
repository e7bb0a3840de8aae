"""Fixtures: the real app with the test flow and route installed, and the recording receiver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import create_app
from bridge.keys import REPOSITORY
from bridge.state.repository import SqlRepository
from tests.delivery.harness import ProbeSender, RecordingReceiver, install_probe
from tests.factories import TEST_SECRETS, make_departments, make_settings
from tests.fakes import FakeClock

EVOLUTION_SECRET = TEST_SECRETS["evolution_webhook_secret"]
ADMIN = {"Authorization": f"Bearer {TEST_SECRETS['bridge_admin_token']}"}


@dataclass
class Bridge:
    """One started bridge app (a replica) with the probe installed."""

    client: TestClient[web.Request, web.Application]
    sender: ProbeSender
    clock: FakeClock

    @property
    def app(self) -> web.Application:
        return self.client.app

    @property
    def repo(self) -> SqlRepository:
        repository = self.app[REPOSITORY]
        assert isinstance(repository, SqlRepository)
        return repository

    async def post_evolution(
        self, document: Any, headers: dict[str, str] | None = None
    ) -> ClientResponse:
        sent = {"X-Webhook-Secret": EVOLUTION_SECRET} if headers is None else headers
        return await self.client.post("/webhooks/evolution", json=document, headers=sent)

    async def count(self, table: str, where: str = "TRUE") -> int:
        value = await self.repo.database.fetchval(f"SELECT COUNT(*) FROM {table} WHERE {where}")
        return int(value)


StartBridge = Callable[..., Awaitable[Bridge]]
AiohttpClient = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]
AiohttpServer = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def receiver() -> RecordingReceiver:
    return RecordingReceiver()


@pytest.fixture
async def receiver_url(receiver: RecordingReceiver, aiohttp_server: AiohttpServer) -> str:
    server = await aiohttp_server(receiver.app())
    return str(server.make_url("/deliver"))


def build_bridge_app(
    database_url: str, clock: FakeClock, receiver_url: str, label: str, **overrides: Any
) -> tuple[web.Application, ProbeSender]:
    settings = make_settings(bridge_database_url=database_url, **overrides)
    app = create_app(settings, clock=clock, departments=make_departments())
    return app, install_probe(app, receiver_url, label=label)


@pytest.fixture
def start_bridge(
    database_url: str, clock: FakeClock, receiver_url: str, aiohttp_client: AiohttpClient
) -> StartBridge:
    """Start a bridge app on the test database; call again for a restart or another replica."""
    started = 0

    async def start(**overrides: Any) -> Bridge:
        nonlocal started
        started += 1
        url = overrides.pop("database_url", database_url)
        app, sender = build_bridge_app(url, clock, receiver_url, f"bridge-{started}", **overrides)
        client = await aiohttp_client(app)
        return Bridge(client, sender, clock)

    return start
