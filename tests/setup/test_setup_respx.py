"""`bridge setup` / verify pieces against respx routes: failures, redaction, version warnings."""

from __future__ import annotations

import argparse
import io
import json
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bridge.clients import ChatwootClient
from bridge.setup.checks import chatwoot_version_check, version_tuple
from bridge.setup.cli import setup_main
from bridge.setup.context import SetupCommandSettings
from tests.contracts_dir import load_contract
from tests.setup.conftest import DEPARTMENTS, DTV_EMAIL, EVOLUTION_SECRET

CW = "https://cw.test"
EVO = "https://evo.test"
MC = "https://mail.test"
ACC = f"{CW}/api/v1/accounts/1"
MAILCOW_KEY = "AAAAAA-BBBBBB-CCCCCC"


def _settings(departments_file: Path) -> SetupCommandSettings:
    return SetupCommandSettings(
        _env_file=None,  # type: ignore[call-arg]
        bridge_public_url="https://bridge.test",
        bridge_departments_file=departments_file,
        evolution_url=EVO,
        evolution_api_key="evo-api-key-123456",
        evolution_instance="mmall",
        evolution_webhook_secret=EVOLUTION_SECRET,
        chatwoot_url=CW,
        chatwoot_account_id=1,
        chatwoot_api_token="cw-admin-token-123456",
        mailcow_url=MC,
        mailcow_api_key=MAILCOW_KEY,
    )


def _evolution_routes(router: respx.Router, *, webhook: dict[str, Any]) -> None:
    router.get(f"{EVO}/webhook/find/mmall").respond(200, json=webhook)
    router.get(f"{EVO}/settings/find/mmall").respond(
        200,
        json={
            "groupsIgnore": True,
            "readMessages": False,
            "readStatus": False,
            "alwaysOnline": False,
            "syncFullHistory": False,
        },
    )
    disabled = {"status": 400, "error": "Bad Request", "response": {"message": ["x is disabled"]}}
    router.get(f"{EVO}/chatwoot/find/mmall").respond(400, json=disabled)
    router.get(f"{EVO}/typebot/find/mmall").respond(400, json=disabled)


def _api_inbox(request: httpx.Request, inbox_id: int) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "id": inbox_id,
            "name": body["name"],
            "channel_type": "Channel::Api",
            "webhook_url": body["channel"]["webhook_url"],
            "secret": f"secret-{inbox_id}",
        },
    )


@pytest.fixture
def dep_file(tmp_path: Path) -> Path:
    path = tmp_path / "departments.toml"
    path.write_text(DEPARTMENTS, encoding="utf-8")
    return path


async def test_failed_email_inbox_keeps_password_secret_and_saves_ids(dep_file: Path) -> None:
    """Chatwoot refuses the email inbox and echoes the password: it is scrubbed, and the ids
    created before the failure are still written so a rerun finds them."""
    router = respx.Router(assert_all_called=False)
    seen_passwords: list[str] = []

    def create_inbox(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["channel"]["type"] == "api":
            return _api_inbox(request, 11)
        password = body["channel"]["imap_password"]
        seen_passwords.append(password)
        return httpx.Response(422, json={"message": f"IMAP login failed for {password}"})

    router.get(f"{ACC}/inboxes").respond(200, json={"payload": []})
    router.post(f"{ACC}/inboxes").mock(side_effect=create_inbox)
    router.get(f"{ACC}/teams").respond(200, json=[])
    router.post(f"{ACC}/teams").respond(200, json={"id": 5, "name": "dtv"})
    router.get(f"{ACC}/automation_rules").respond(200, json={"payload": []})
    router.get(f"{MC}/api/v1/get/mailbox/{DTV_EMAIL}").respond(200, json={})
    router.get(f"{MC}/api/v1/get/domain/mmallelectronics.co.za").respond(
        200, json={"domain_name": "mmallelectronics.co.za"}
    )
    router.get(f"{MC}/api/v1/get/passwordpolicy").respond(
        200, json={"length": "16", "chars": "1", "special_chars": "1", "numbers": "1"}
    )
    added = router.post(f"{MC}/api/v1/add/mailbox").respond(
        200, json=load_contract("mailcow/examples/add-mailbox.response.success.json")
    )
    _evolution_routes(router, webhook={})
    out, err = io.StringIO(), io.StringIO()

    code = await setup_main(
        argparse.Namespace(dry_run=False, secrets_out=None),
        _settings(dep_file),
        transport=httpx.MockTransport(router.handler),
        out=out,
        err=err,
    )

    assert code == 1
    (password,) = seen_passwords
    assert len(password) >= 16
    assert json.loads(added.calls.last.request.content)["password"] == password
    assert "setup failed" in err.getvalue()
    assert "***" in err.getvalue()
    text = dep_file.read_text(encoding="utf-8")
    for place in (out.getvalue(), err.getvalue(), text):
        assert password not in place
    dtv = tomllib.loads(text)["department"][0]
    assert dtv["chatwoot_inbox_id"] == 11
    assert dtv["chatwoot_team_id"] == 5
    assert "chatwoot_email_inbox_id" not in dtv


async def test_webhook_secret_drift_is_corrected_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "departments.toml"
    path.write_text(
        '[[department]]\nkey = "Sales"\nname = "Sales"\nchatwoot_inbox_id = 3\n'
        "chatwoot_team_id = 2\n",
        encoding="utf-8",
    )
    router = respx.Router()
    router.get(f"{ACC}/inboxes").respond(
        200,
        json={
            "payload": [
                {
                    "id": 3,
                    "name": "Sales WhatsApp",
                    "channel_type": "Channel::Api",
                    "webhook_url": "https://bridge.test/webhooks/chatwoot",
                    "secret": "sales-inbox-secret",
                }
            ]
        },
    )
    router.get(f"{ACC}/teams").respond(200, json=[{"id": 2, "name": "sales"}])
    router.get(f"{ACC}/automation_rules").respond(200, json={"payload": []})
    stale = "stale-webhook-secret-987"
    _evolution_routes(
        router,
        webhook={
            "enabled": True,
            "url": "https://bridge.test/webhooks/evolution",
            "headers": {"X-Webhook-Secret": stale},
            "events": list(
                load_contract("evolution/webhook-set-request.json")["webhook"]["events"]
            ),
            "webhookByEvents": False,
            "webhookBase64": False,
        },
    )
    set_hook = router.post(f"{EVO}/webhook/set/mmall").respond(201, json={"id": "w1"})
    out, err = io.StringIO(), io.StringIO()

    code = await setup_main(
        argparse.Namespace(dry_run=False, secrets_out=None),
        _settings(path),
        transport=httpx.MockTransport(router.handler),
        out=out,
        err=err,
    )

    assert code == 0, err.getvalue()
    line = next(x for x in out.getvalue().splitlines() if "mmall: webhook" in x)
    assert line.startswith("update")
    assert "X-Webhook-Secret header" in line
    sent = json.loads(set_hook.calls.last.request.content)["webhook"]
    assert sent["headers"] == {"X-Webhook-Secret": EVOLUTION_SECRET}
    assert sent["byEvents"] is False
    assert sent["base64"] is False
    for value in (stale, EVOLUTION_SECRET):
        assert value not in out.getvalue() + err.getvalue()
    assert "server (CHATWOOT_ENABLED=false)" in out.getvalue()
    assert "CHATWOOT_WEBHOOK_SECRETS=sales-inbox-secret" in out.getvalue()


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("4.15.1", "PASS"),
        ("4.13.0", "PASS"),
        ("4.14.0", "WARN"),
        ("4.12.3", "WARN"),
        ("4.14.1", "PASS"),
    ],
)
async def test_chatwoot_version_check(version: str, status: str) -> None:
    router = respx.Router()
    router.get(f"{CW}/api").respond(200, json={"version": version, "timestamp": "x"})
    client = ChatwootClient(
        base_url=CW,
        api_token="cw-admin-token-123456",
        account_id=1,
        transport=httpx.MockTransport(router.handler),
    )
    try:
        check = chatwoot_version_check((await client.get_version()).version)
    finally:
        await client.aclose()
    assert check.status == status
    assert check.line().startswith(f"{status} chatwoot version: {version}")


def test_version_tuple_tolerates_suffixes() -> None:
    assert version_tuple("v2.3.7-rc1") == (2, 3, 7)
    assert version_tuple("4.14.0") == (4, 14, 0)
    assert version_tuple("develop") == ()
