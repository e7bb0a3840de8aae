"""The `setup` and `verify` subcommands (the lead registers them via `add_commands`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any, TextIO

import httpx

from bridge.departments import load_departments
from bridge.errors import ConfigError, DeliveryError
from bridge.logs import configure_logging
from bridge.settings import load_settings
from bridge.setup.context import SetupClients, SetupCommandSettings, Targets
from bridge.setup.run import report, run_setup
from bridge.setup.verify import VerifyOptions, VerifySettings, exit_code, run_verify


def add_commands(subparsers: Any) -> None:
    """Register `setup` and `verify` on an argparse subparsers object."""
    setup = subparsers.add_parser(
        "setup", help="reconcile Chatwoot/Evolution/Mailcow with the departments file"
    )
    setup.add_argument(
        "--dry-run", action="store_true", help="print the plan; change nothing anywhere"
    )
    setup.add_argument(
        "--secrets-out",
        type=Path,
        metavar="FILE",
        help="write CHATWOOT_WEBHOOK_SECRETS=... to FILE (mode 0600) instead of printing it",
    )
    setup.set_defaults(run=run_setup_command)
    verify = subparsers.add_parser(
        "verify", help="run the verification checklist against the live systems"
    )
    verify.add_argument("--sso-email", metavar="EMAIL", help="check an SSO link for this staff")
    verify.add_argument(
        "--public-host", metavar="HOST", help="check Mailcow's port 8080 is closed on HOST"
    )
    verify.add_argument(
        "--send-test-message", metavar="PHONE", help="send a WhatsApp text (a write)"
    )
    verify.add_argument(
        "--create-test-employee",
        nargs="?",
        const="",
        default=None,
        metavar="PERSONAL_EMAIL",
        help="POST /api/employees on the bridge (a write; the invite goes to PERSONAL_EMAIL)",
    )
    verify.set_defaults(run=run_verify_command)


def _fail(message: object, err: TextIO | None, code: int) -> int:
    print(message, file=err or sys.stderr)
    return code


def run_setup_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(".env", SetupCommandSettings)
    except ConfigError as error:
        return _fail(error, None, 2)
    configure_logging(settings.bridge_log_format, settings.secret_values())
    return asyncio.run(setup_main(args, settings))


async def setup_main(
    args: argparse.Namespace,
    settings: SetupCommandSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    clients = SetupClients.from_settings(settings, transport)
    try:
        departments = load_departments(Path(settings.bridge_departments_file))
        result = await run_setup(
            Targets.from_settings(settings),
            departments,
            clients,
            Path(settings.bridge_departments_file),
            dry_run=args.dry_run,
        )
        report(result, dry_run=args.dry_run, secrets_out=args.secrets_out, out=out, err=err)
    except ConfigError as error:
        return _fail(error, err, 2)
    except (DeliveryError, httpx.HTTPError) as error:
        return _fail(f"setup failed: {error}", err, 1)
    finally:
        await clients.aclose()
    return 0


def run_verify_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(".env", VerifySettings)
    except ConfigError as error:
        return _fail(error, None, 2)
    configure_logging(settings.bridge_log_format, settings.secret_values())
    return asyncio.run(verify_main(args, settings))


def options_from(args: argparse.Namespace) -> VerifyOptions:
    return VerifyOptions(
        sso_email=args.sso_email,
        public_host=args.public_host,
        send_test_message=args.send_test_message,
        create_test_employee=args.create_test_employee,
    )


async def verify_main(
    args: argparse.Namespace,
    settings: VerifySettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    options: VerifyOptions | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        departments = load_departments(Path(settings.bridge_departments_file))
    except ConfigError as error:
        return _fail(error, err, 2)
    clients = SetupClients.from_settings(settings, transport)
    http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(10.0, connect=5.0))
    try:
        checks = await run_verify(
            settings, departments, clients, http, options or options_from(args)
        )
    finally:
        await http.aclose()
        await clients.aclose()
    for check in checks:
        print(check.line(), file=out)
    return exit_code(checks)
