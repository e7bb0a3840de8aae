"""The bridge app wired to the simulators (Mailcow, Chatwoot, SMTP sink) for employee tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from bridge.app import create_app
from bridge.clients.chatwoot import ChatwootClient
from bridge.departments import Departments
from bridge.keys import REPOSITORY
from bridge.sim.runner import SimStack, start_simulators
from bridge.state.database import Database
from tests.factories import TEST_SECRETS, make_settings
from tests.provisioning.conftest import FakeClock

ADMIN = {"Authorization": f"Bearer {TEST_SECRETS['bridge_admin_token']}"}
PUBLIC_URL = "http://bridge.test"
KAY: dict[str, Any] = {
    "first_name": "Kay",
    "last_name": "Ntulo",
    "personal_email": "kay.personal@example.org",
    "department": "DTV",
    "role": "agent",
}


@dataclass
class SimEnv:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    stack: SimStack
    clock: FakeClock
    dtv_team_id: int
    dtv_inbox_id: int
    dtv_email_inbox_id: int
    sales_inbox_id: int

    @property
    def db(self) -> Database:
        return self.app[REPOSITORY].database

    @property
    def domain(self) -> str:
        return self.stack.credentials.mail_domain

    async def post_employee(
        self, body: dict[str, Any], *, key: str | None = None
    ) -> ClientResponse:
        headers = dict(ADMIN)
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.client.post("/api/employees", json=body, headers=headers)

    async def chatwoot_faults(self, **spec: Any) -> None:
        """Queue simulator faults (e.g. 503 on `/platform/`); no spec clears them."""
        url = f"{self.stack.urls['chatwoot']}/_sim/faults"
        async with httpx.AsyncClient() as http:
            if spec:
                (await http.post(url, json=spec)).raise_for_status()
            else:
                (await http.delete(url)).raise_for_status()

    def mailcow_adds(self) -> int:
        return sum(
            1
            for c in self.stack.mailcow.calls
            if c["action"] == "add" and c["category"] == "mailbox"
        )


@pytest.fixture
async def stack() -> AsyncIterator[SimStack]:
    sims = await start_simulators()
    yield sims
    await sims.aclose()


async def _chatwoot_layout(stack: SimStack) -> tuple[int, int, int, int]:
    cw = ChatwootClient(
        base_url=stack.urls["chatwoot"],
        api_token=stack.credentials.chatwoot_api_token,
        account_id=1,
    )
    try:
        hook = f"{PUBLIC_URL}/webhooks/chatwoot"
        dtv = await cw.create_api_inbox("DTV", hook)
        dtv_email = await cw.create_api_inbox("DTV email", hook)
        sales = await cw.create_api_inbox("Sales", hook)
        team = await cw.create_team("dtv")
    finally:
        await cw.aclose()
    return team.id, dtv.id, dtv_email.id, sales.id


@pytest.fixture
async def sim_env(
    stack: SimStack,
    aiohttp_client: AiohttpClient,
    database_url: str,
    clock: FakeClock,
) -> SimEnv:
    """Runs on both storage backends (the `database_url` fixture is parametrized)."""
    team_id, dtv_inbox, dtv_email_inbox, sales_inbox = await _chatwoot_layout(stack)
    departments = Departments.model_validate(
        {
            "department": [
                {
                    "key": "DTV",
                    "name": "DTV",
                    "chatwoot_inbox_id": dtv_inbox,
                    "chatwoot_email_inbox_id": dtv_email_inbox,
                    "chatwoot_team_id": team_id,
                },
                {"key": "Sales", "name": "Sales", "chatwoot_inbox_id": sales_inbox},
            ]
        }
    )
    creds = stack.credentials
    assert stack.smtp is not None
    settings = make_settings(
        bridge_public_url=PUBLIC_URL,
        bridge_database_url=database_url,
        chatwoot_url=stack.urls["chatwoot"],
        chatwoot_api_token=creds.chatwoot_api_token,
        chatwoot_platform_token=creds.chatwoot_platform_token,
        mailcow_url=stack.urls["mailcow"],
        mailcow_api_key=creds.mailcow_api_key,
        mail_domain=creds.mail_domain,
        smtp_host=stack.host,
        smtp_port=stack.smtp.port,
        smtp_tls="none",
        smtp_username="",
        smtp_password="",
    )
    app = create_app(settings, departments=departments, clock=clock)
    client = await aiohttp_client(app)
    return SimEnv(client, app, stack, clock, team_id, dtv_inbox, dtv_email_inbox, sales_inbox)
