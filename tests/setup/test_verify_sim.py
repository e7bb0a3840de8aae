"""`bridge verify` against the in-process simulators."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import SecretStr

from bridge.setup.context import SetupCommandSettings
from bridge.setup.verify import VerifyOptions
from bridge.sim.runner import SimStack
from tests.setup.conftest import run_setup_cli, run_verify_cli, verify_settings

ADMIN_EMAIL = "admin@mmallelectronics.co.za"


def _secrets(stack: SimStack) -> str:
    api = [i for i in stack.chatwoot.inboxes.values() if i["channel_type"] == "Channel::Api"]
    return ",".join(str(i["secret"]) for i in api)


def _statuses(output: str) -> dict[str, str]:
    """check name → status, from `STATUS name: detail` lines."""
    found = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        found[rest.split(":", 1)[0]] = status
    return found


async def test_all_pass_on_a_freshly_set_up_stack(
    stack: SimStack,
    setup_settings: SetupCommandSettings,
    departments_file: Path,
    bridge_url: str,
    closed_port: int,
) -> None:
    assert (await run_setup_cli(setup_settings)).code == 0
    settings = verify_settings(stack, departments_file, bridge_url, _secrets(stack))
    options = VerifyOptions(
        sso_email=ADMIN_EMAIL, public_host="127.0.0.1", mailcow_ui_port=closed_port
    )

    result = await run_verify_cli(settings, options)

    lines = result.out.splitlines()
    assert lines, result.err
    assert all(line.startswith("PASS ") for line in lines), result.out
    assert result.code == 0
    statuses = _statuses(result.out)
    for name in (
        "chatwoot version",
        "evolution instance",
        "mailcow",
        "chatwoot DTV auto-reply rule",
        "chatwoot webhook secrets",
        "bridge readyz",
        "sso link",
        f"mailcow admin port {closed_port}",
    ):
        assert statuses.get(name) == "PASS", name
    assert "sso_auth_token" not in result.out  # the login URL is never shown


async def test_broken_webhook_secret_fails(
    stack: SimStack, setup_settings: SetupCommandSettings, departments_file: Path, bridge_url: str
) -> None:
    assert (await run_setup_cli(setup_settings)).code == 0
    first_secret = _secrets(stack).split(",")[0]
    settings = verify_settings(
        stack, departments_file, bridge_url, f"{first_secret},not-the-sales-secret"
    )

    result = await run_verify_cli(settings, VerifyOptions())

    assert result.code == 1
    line = next(x for x in result.out.splitlines() if "chatwoot webhook secrets" in x)
    assert line.startswith("FAIL ")
    assert "Sales" in line
    assert first_secret not in result.out


async def test_before_setup_the_missing_objects_fail(
    stack: SimStack, departments_file: Path, bridge_url: str
) -> None:
    settings = verify_settings(stack, departments_file, bridge_url, "x" * 24)
    result = await run_verify_cli(settings, VerifyOptions())
    assert result.code == 1
    statuses = _statuses(result.out)
    assert statuses["chatwoot DTV WhatsApp inbox"] == "FAIL"
    assert statuses["evolution mmall webhook"] == "FAIL"
    assert "run `bridge setup`" in result.out
    assert stack.chatwoot.inboxes == {}  # verify is read-only


async def test_open_mailcow_port_fails(
    stack: SimStack, setup_settings: SetupCommandSettings, departments_file: Path, bridge_url: str
) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = verify_settings(stack, departments_file, bridge_url, "")
        options = VerifyOptions(public_host="127.0.0.1", mailcow_ui_port=port)
        result = await run_verify_cli(settings, options)
    finally:
        server.close()
        await server.wait_closed()
    line = next(x for x in result.out.splitlines() if "mailcow admin port" in x)
    assert line.startswith("FAIL ")
    assert result.code == 1


async def test_opt_in_writes(
    stack: SimStack, setup_settings: SetupCommandSettings, departments_file: Path, bridge_url: str
) -> None:
    assert (await run_setup_cli(setup_settings)).code == 0
    settings = verify_settings(stack, departments_file, bridge_url, _secrets(stack))
    settings = settings.model_copy(update={"bridge_admin_token": SecretStr("a" * 32)})
    options = VerifyOptions(send_test_message="27821234567", create_test_employee="")

    result = await run_verify_cli(settings, options)

    (sent,) = stack.evolution.sent
    assert sent["route"] == "sendText"
    assert sent["request"]["number"] == "27821234567"
    statuses = _statuses(result.out)
    assert statuses["test message"] == "PASS"
    # The stand-in bridge has no /api/employees: reported, not crashed.
    employee = next(x for x in result.out.splitlines() if "test employee" in x)
    assert employee.startswith("FAIL ")
    assert "404" in employee
    assert result.code == 1


async def test_read_only_by_default(
    stack: SimStack, setup_settings: SetupCommandSettings, departments_file: Path, bridge_url: str
) -> None:
    assert (await run_setup_cli(setup_settings)).code == 0
    settings = verify_settings(stack, departments_file, bridge_url, _secrets(stack))
    file_before = departments_file.read_bytes()
    calls_before = len(stack.mailcow.calls)
    await run_verify_cli(settings, VerifyOptions())
    assert stack.evolution.sent == []
    assert departments_file.read_bytes() == file_before
    assert all(c["action"] == "get" for c in stack.mailcow.calls[calls_before:])
