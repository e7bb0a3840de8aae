"""The `bridge` command: one subcommand per operator task (DESIGN.md §3)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from aiohttp import web

from bridge.errors import ConfigError
from bridge.logs import configure_logging
from bridge.settings import Settings, load_settings

SHUTDOWN_TIMEOUT_S = 8.0


def _serve(args: argparse.Namespace) -> int:
    from bridge.app import create_app

    settings = load_settings()
    settings.require_chatwoot_webhook_auth()
    configure_logging(settings.bridge_log_format, settings.secret_values())
    app = create_app(settings)
    web.run_app(
        app,
        host=settings.bridge_host,
        port=settings.bridge_port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        access_log=None,
        print=None,
    )
    return 0


def _load(args: argparse.Namespace) -> Settings:
    return load_settings()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bridge", description="Evolution API ⇄ Typebot ⇄ Chatwoot bridge"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the service (applies pending migrations)")
    serve.set_defaults(run=_serve)
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
