"""The `bridge` command: one subcommand per operator task (DESIGN.md §3)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence

from aiohttp import web

from bridge.demo.cli import add_commands as add_demo_commands
from bridge.departments import load_departments
from bridge.errors import ConfigError, StorageUnavailable, UnsupportedDatabaseVersion
from bridge.logs import configure_logging
from bridge.settings import DatabaseSettings, load_settings
from bridge.setup.cli import add_commands as add_setup_commands
from bridge.state.repository import open_repository

SHUTDOWN_TIMEOUT_S = 8.0


def _serve(args: argparse.Namespace) -> int:
    from bridge.app import create_app

    settings = load_settings()
    settings.require_chatwoot_webhook_auth()
    departments = load_departments(settings.bridge_departments_file)
    departments.require_inbox_ids()
    configure_logging(settings.bridge_log_format, settings.secret_values())
    app = create_app(settings, departments=departments)
    web.run_app(
        app,
        host=settings.bridge_host,
        port=settings.bridge_port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=None,
        print=None,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = load_settings(".env", DatabaseSettings)
    configure_logging(settings.bridge_log_format, settings.secret_values())

    async def run() -> int:
        repository = open_repository(settings.bridge_database_url)
        await repository.start()
        try:
            return await repository.migrate()
        finally:
            await repository.close()

    try:
        version = asyncio.run(run())
    except (StorageUnavailable, UnsupportedDatabaseVersion) as error:
        print(f"migrate failed: {error}", file=sys.stderr)
        return 1
    print(f"database at schema version {version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridge", description="Evolution API ⇄ Typebot ⇄ Chatwoot bridge"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the service (applies pending migrations)")
    serve.set_defaults(run=_serve)
    migrate = commands.add_parser("migrate", help="apply database migrations and exit")
    migrate.set_defaults(run=_migrate)
    add_setup_commands(commands)
    add_demo_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
