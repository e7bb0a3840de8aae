"""The real bridge app with the test flow and route, as a process (for kill -9 tests).

Run `python -m tests.delivery.probe_server` from the checkout with the bridge's environment
variables and PROBE_RECEIVER_URL set. It listens on a free loopback port and prints
`PORT <n>` on stdout once bound.
"""

from __future__ import annotations

import logging
import os
import socket
import sys

from aiohttp import web

from bridge.app import create_app
from bridge.settings import Settings
from tests.delivery.harness import install_probe
from tests.factories import make_departments


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings(_env_file=None)
    app = create_app(settings, departments=make_departments())
    install_probe(app, os.environ["PROBE_RECEIVER_URL"], label=f"pid-{os.getpid()}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    web.run_app(app, sock=sock, print=None, access_log=None, shutdown_timeout=2.0)


if __name__ == "__main__":
    main()
