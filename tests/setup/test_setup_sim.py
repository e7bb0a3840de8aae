"""`bridge setup` against the in-process simulators: create, no-op, drift, dry run, secrets."""

from __future__ import annotations

import copy
import logging
import stat
import tomllib
from pathlib import Path

import pytest

from bridge.setup.context import SetupCommandSettings
from bridge.sim.evolution_integrations import INTEGRATIONS_KEY
from bridge.sim.runner import SimStack
from tests.setup.conftest import (
    AUTO_REPLY,
    DTV_EMAIL,
    EVOLUTION_SECRET,
    plan_rows,
    run_setup_cli,
)

BRIDGE_EVENTS = {
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "MESSAGES_EDITED",
    "SEND_MESSAGE",
    "CONNECTION_UPDATE",
}


def _inboxes(stack: SimStack, channel: str) -> list[dict[str, object]]:
    return [i for i in stack.chatwoot.inboxes.values() if i["channel_type"] == channel]


async def test_first_run_creates_everything(
    stack: SimStack,
    setup_settings: SetupCommandSettings,
    departments_file: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets_file = tmp_path / "secrets.env"
    result = await run_setup_cli(setup_settings, secrets_out=secrets_file)
    assert result.code == 0, result.err

    bridge = str(setup_settings.bridge_public_url).rstrip("/")
    api = _inboxes(stack, "Channel::Api")
    assert sorted(i["name"] for i in api) == ["DTV WhatsApp", "Sales WhatsApp"]
    assert {i["webhook_url"] for i in api} == {f"{bridge}/webhooks/chatwoot"}
    assert sorted(t["name"] for t in stack.chatwoot.teams.values()) == ["dtv", "sales"]

    (email_inbox,) = _inboxes(stack, "Channel::Email")
    assert email_inbox["email"] == DTV_EMAIL
    assert email_inbox["imap_address"] == "mail.mmallelectronics.co.za"
    assert email_inbox["imap_port"] == 993
    assert email_inbox["imap_login"] == DTV_EMAIL
    assert email_inbox["smtp_port"] == 587
    assert email_inbox["smtp_login"] == DTV_EMAIL
    mailbox = stack.mailcow.mailboxes[DTV_EMAIL]
    password = str(mailbox["_password"])
    assert len(password) >= 12
    # The generated mailbox password went to Chatwoot (IMAP and SMTP) and nowhere else.
    assert email_inbox["imap_password"] == password
    assert email_inbox["smtp_password"] == password
    assert mailbox["quota"] == 3072 * 1024 * 1024

    (rule,) = stack.chatwoot.automation_rules.values()
    assert rule["event_name"] == "conversation_created"
    assert rule["conditions"][0]["attribute_key"] == "inbox_id"
    assert rule["conditions"][0]["values"] == [email_inbox["id"]]
    assert rule["actions"] == [{"action_name": "send_message", "action_params": [AUTO_REPLY]}]

    inst = stack.evolution.instances[stack.credentials.evolution_instance]
    assert inst.webhook.url == f"{bridge}/webhooks/evolution"
    assert inst.webhook.headers == {"X-Webhook-Secret": EVOLUTION_SECRET}
    assert set(inst.webhook.events) == BRIDGE_EVENTS
    assert inst.webhook.enabled
    assert not inst.webhook.by_events
    assert not inst.webhook.base64
    assert inst.settings["groupsIgnore"] is True
    assert inst.settings["readMessages"] is False

    text = departments_file.read_text(encoding="utf-8")
    assert "# Departments (a comment setup must keep)" in text
    assert "# the department mailbox" in text
    written = tomllib.loads(text)["department"]
    dtv_api = next(i for i in api if i["name"] == "DTV WhatsApp")
    assert written[0]["chatwoot_inbox_id"] == dtv_api["id"]
    assert written[0]["chatwoot_email_inbox_id"] == email_inbox["id"]
    assert written[0]["chatwoot_team_id"] in stack.chatwoot.teams
    assert "chatwoot_email_inbox_id" not in written[1]
    assert written[1]["chatwoot_inbox_id"] != dtv_api["id"]

    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    line = secrets_file.read_text(encoding="utf-8").strip()
    assert line == "CHATWOOT_WEBHOOK_SECRETS=" + ",".join(str(i["secret"]) for i in api)
    for inbox in api:
        assert str(inbox["secret"]) not in result.out  # written to the file, not printed
    assert "webhook secrets written to" in result.out

    for place in (result.out, result.err, caplog.text, text, line):
        assert password not in place


async def test_secrets_printed_without_secrets_out(
    stack: SimStack, setup_settings: SetupCommandSettings
) -> None:
    result = await run_setup_cli(setup_settings)
    assert result.code == 0
    secrets = [str(i["secret"]) for i in _inboxes(stack, "Channel::Api")]
    assert f"CHATWOOT_WEBHOOK_SECRETS={','.join(secrets)}" in result.out.splitlines()


async def test_second_run_is_a_no_op(
    stack: SimStack, setup_settings: SetupCommandSettings, departments_file: Path
) -> None:
    assert (await run_setup_cli(setup_settings)).code == 0
    file_before = departments_file.read_bytes()
    cw_before = copy.deepcopy(
        (stack.chatwoot.inboxes, stack.chatwoot.teams, stack.chatwoot.automation_rules)
    )
    calls_before = len(stack.mailcow.calls)

    again = await run_setup_cli(setup_settings)

    assert again.code == 0
    assert "nothing to do" in again.out
    rows = plan_rows(again.out)
    assert rows
    assert set(rows) == {"keep"}
    assert departments_file.read_bytes() == file_before
    after = (stack.chatwoot.inboxes, stack.chatwoot.teams, stack.chatwoot.automation_rules)
    assert after == cw_before
    new_calls = stack.mailcow.calls[calls_before:]
    assert all(c["action"] == "get" for c in new_calls)


async def test_drift_is_shown_and_corrected(
    stack: SimStack, setup_settings: SetupCommandSettings
) -> None:
    assert (await run_setup_cli(setup_settings)).code == 0
    (rule,) = stack.chatwoot.automation_rules.values()
    rule["actions"] = [{"action_name": "send_message", "action_params": ["edited by hand"]}]
    api = next(i for i in _inboxes(stack, "Channel::Api") if i["name"] == "Sales WhatsApp")
    api["webhook_url"] = "https://old.example.com/hook"
    inst = stack.evolution.instances[stack.credentials.evolution_instance]
    inst.webhook.url = "https://old.example.com/evolution"
    inst.settings["readMessages"] = True

    fixed = await run_setup_cli(setup_settings)

    assert fixed.code == 0
    update_lines = [line for line in fixed.out.splitlines() if line.startswith("update")]
    assert any("auto-reply rule" in line and "auto-reply text" in line for line in update_lines)
    assert any("Sales: WhatsApp inbox" in line for line in update_lines)
    assert any("webhook" in line and "url" in line for line in update_lines)
    assert any("settings" in line and "readMessages" in line for line in update_lines)
    assert rule["actions"] == [{"action_name": "send_message", "action_params": [AUTO_REPLY]}]
    bridge = str(setup_settings.bridge_public_url).rstrip("/")
    assert api["webhook_url"] == f"{bridge}/webhooks/chatwoot"
    assert inst.webhook.url == f"{bridge}/webhooks/evolution"
    assert inst.settings["readMessages"] is False
    assert "nothing to do" in (await run_setup_cli(setup_settings)).out


async def test_dry_run_changes_nothing(
    stack: SimStack, setup_settings: SetupCommandSettings, departments_file: Path, tmp_path: Path
) -> None:
    file_before = departments_file.read_bytes()
    inst = stack.evolution.instances[stack.credentials.evolution_instance]
    webhook_before, settings_before = copy.deepcopy((inst.webhook, inst.settings))
    secrets_file = tmp_path / "secrets.env"

    result = await run_setup_cli(setup_settings, dry_run=True, secrets_out=secrets_file)

    assert result.code == 0
    assert "create" in plan_rows(result.out)
    assert "would change" in result.out
    assert stack.chatwoot.inboxes == {}
    assert stack.chatwoot.teams == {}
    assert stack.chatwoot.automation_rules == {}
    assert stack.mailcow.mailboxes == {}
    assert all(c["action"] == "get" for c in stack.mailcow.calls)
    assert (inst.webhook, inst.settings) == (webhook_before, settings_before)
    assert departments_file.read_bytes() == file_before
    assert not secrets_file.exists()


async def test_builtin_integrations_are_turned_off(
    stack: SimStack, setup_settings: SetupCommandSettings
) -> None:
    integrations = stack.apps["evolution"][INTEGRATIONS_KEY]
    instance = stack.credentials.evolution_instance
    integrations.chatwoot[instance] = {
        "enabled": True,
        "accountId": "1",
        "token": "evolution-chatwoot-token",
        "url": "http://chatwoot.internal",
        "signMsg": True,
        "reopenConversation": True,
        "conversationPending": False,
    }
    bot = integrations.add_typebot(instance, url="http://typebot", typebot="triage", expire=20)

    result = await run_setup_cli(setup_settings)

    assert result.code == 0
    assert integrations.chatwoot[instance]["enabled"] is False
    assert bot["enabled"] is False
    assert bot["typebot"] == "triage"  # the rest of the bot row is kept
    assert "built-in Chatwoot" in result.out
    again = await run_setup_cli(setup_settings)
    assert "nothing to do" in again.out


async def test_existing_mailbox_gets_a_new_password_for_chatwoot(
    stack: SimStack, setup_settings: SetupCommandSettings
) -> None:
    """A mailbox made outside setup: Chatwoot needs its password, so setup sets a fresh one."""
    stack.mailcow.mailboxes[DTV_EMAIL] = {
        "username": DTV_EMAIL,
        "local_part": "support.dtv",
        "domain": "mmallelectronics.co.za",
        "_password": "Old-Password-123!",
        "attributes": {},
    }
    result = await run_setup_cli(setup_settings)
    assert result.code == 0, result.err
    (email_inbox,) = _inboxes(stack, "Channel::Email")
    new_password = str(stack.mailcow.mailboxes[DTV_EMAIL]["_password"])
    assert new_password != "Old-Password-123!"
    assert email_inbox["imap_password"] == new_password
    assert new_password not in result.out + result.err
