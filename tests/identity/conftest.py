"""Fixtures: the bridge app (SQLite file, fake clock, cheap hasher) next to a Chatwoot sim."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.app import create_app
from bridge.keys import REPOSITORY
from bridge.sim.chatwoot import create_chatwoot_app
from bridge.state.database import Database
from provisioning.identity.config import IDENTITY
from tests.factories import make_departments, make_settings
from tests.fakes import FakeClock
from tests.identity.harness import (
    CW_API_TOKEN,
    CW_PLATFORM_TOKEN,
    HASHER,
    HUB_SECRET,
    SimChatwoot,
    chatwoot_state,
)


@dataclass
class Hub:
    client: TestClient[Any, Any]
    clock: FakeClock
    chatwoot: SimChatwoot

    @property
    def db(self) -> Database:
        return self.client.app[REPOSITORY].database  # type: ignore[index]

    @property
    def now_ms(self) -> int:
        return self.clock.ms


@pytest.fixture
async def chatwoot_sim(aiohttp_server: Any) -> SimChatwoot:
    app = create_chatwoot_app(api_token=CW_API_TOKEN, platform_token=CW_PLATFORM_TOKEN)
    server = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    chatwoot_state(app).frontend_url = url
    return SimChatwoot(url, app)


HubFactory = Callable[..., Awaitable[Hub]]


@pytest.fixture
def hub_factory(
    aiohttp_client: Any, chatwoot_sim: SimChatwoot, tmp_path: Path, clock: FakeClock
) -> HubFactory:
    """Builds the app on a fresh SQLite file; keyword arguments override settings."""

    async def build(**overrides: Any) -> Hub:
        values: dict[str, Any] = {
            "bridge_public_url": "http://127.0.0.1:8080",
            "bridge_database_url": f"sqlite:///{tmp_path / 'bridge.db'}",
            "chatwoot_url": chatwoot_sim.url,
            "chatwoot_api_token": CW_API_TOKEN,
            "chatwoot_platform_token": CW_PLATFORM_TOKEN,
            "hub_sso_secret": HUB_SECRET,
            **overrides,
        }
        app = create_app(make_settings(**values), departments=make_departments(), clock=clock)
        app[IDENTITY].hasher = HASHER
        client = await aiohttp_client(app)
        return Hub(client, clock, chatwoot_sim)

    return build


@pytest.fixture
async def hub(hub_factory: HubFactory) -> Hub:
    return await hub_factory()
