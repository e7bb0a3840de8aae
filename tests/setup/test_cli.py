"""The argparse wiring of `setup` / `verify` and the exit code 2 on bad configuration."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bridge.setup.cli import add_commands, run_setup_command, run_verify_command

REQUIRED = (
    "EVOLUTION_URL",
    "EVOLUTION_API_KEY",
    "EVOLUTION_INSTANCE",
    "EVOLUTION_WEBHOOK_SECRET",
    "CHATWOOT_URL",
    "CHATWOOT_ACCOUNT_ID",
    "CHATWOOT_API_TOKEN",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bridge")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def test_subcommands_are_registered() -> None:
    args = _parser().parse_args(["setup", "--dry-run", "--secrets-out", "s.env"])
    assert args.run is run_setup_command
    assert args.dry_run is True
    assert args.secrets_out == Path("s.env")
    verify = _parser().parse_args(
        [
            "verify",
            "--sso-email",
            "a@b.c",
            "--public-host",
            "mail.example.com",
            "--create-test-employee",
        ]
    )
    assert verify.run is run_verify_command
    assert verify.create_test_employee == ""
    assert verify.send_test_message is None
    assert _parser().parse_args(["verify"]).create_test_employee is None


@pytest.mark.parametrize("command", ["setup", "verify"])
def test_missing_configuration_exits_2(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    args = _parser().parse_args([command])
    assert args.run(args) == 2
    err = capsys.readouterr().err
    assert "EVOLUTION_URL: missing" in err
    assert "CHATWOOT_API_TOKEN: missing" in err
