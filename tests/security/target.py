"""A subprocess bridge whose every upstream is one recording loopback server (answers 503).

Security tests need no working upstream: they check what the bridge answers and that it calls
nobody for a refused request. The server records every request it gets.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from bridge.demo.stack import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

DEPARTMENTS = """[[department]]
key = "DTV"
name = "DTV"
chatwoot_inbox_id = 2
chatwoot_team_id = 1

[[department]]
key = "Sales"
name = "Sales"
chatwoot_inbox_id = 3
"""


class _Recorder(BaseHTTPRequestHandler):
    calls: list[str]

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.calls.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "recording upstream"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class RecordingUpstream:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def calls(self) -> list[str]:
        calls: list[str] = self.server.calls  # type: ignore[attr-defined]
        return calls

    @classmethod
    def start(cls) -> RecordingUpstream:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        server.calls = []  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        return cls(server, thread)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Target:
    """The running bridge, its secrets and its log."""

    url: str
    env: dict[str, str]
    log_path: Path
    upstream: RecordingUpstream
    proc: subprocess.Popen[bytes] | None = None
    secrets: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "CHATWOOT_"))}
        env.update(self.env)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve"],
            env=env,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.logs()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"bridge did not come up:\n{self.logs()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self) -> int:
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="ascii")
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets['admin']}"}


def start_target(workdir: Path) -> Target:
    upstream = RecordingUpstream.start()
    departments = workdir / "departments.toml"
    departments.write_text(DEPARTMENTS, encoding="utf-8")
    port = free_port()
    chosen = {
        "admin": secrets.token_urlsafe(24),
        "evolution": secrets.token_urlsafe(24),
        "typebot": secrets.token_urlsafe(24),
        "chatwoot": secrets.token_urlsafe(24),
        "chatwoot_token": secrets.token_urlsafe(24),
        "hub": secrets.token_urlsafe(32),
        "evolution_api_key": secrets.token_hex(16),
        "chatwoot_api": secrets.token_urlsafe(18),
        "platform": secrets.token_urlsafe(18),
        "mailcow": secrets.token_hex(16),
        "smtp": secrets.token_urlsafe(16),
    }
    env = {
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(port),
        "BRIDGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "BRIDGE_DATABASE_URL": f"sqlite:///{workdir / 'bridge.db'}",
        "BRIDGE_ADMIN_TOKEN": chosen["admin"],
        "BRIDGE_DEPARTMENTS_FILE": str(departments),
        "BRIDGE_LOG_FORMAT": "json",
        "EVOLUTION_URL": upstream.url,
        "EVOLUTION_API_KEY": chosen["evolution_api_key"],
        "EVOLUTION_INSTANCE": "mmall",
        "EVOLUTION_WEBHOOK_SECRET": chosen["evolution"],
        "TYPEBOT_URL": upstream.url,
        "TYPEBOT_PUBLIC_ID": "mm-triage",
        "TYPEBOT_WEBHOOK_SECRET": chosen["typebot"],
        "CHATWOOT_URL": upstream.url,
        "CHATWOOT_ACCOUNT_ID": "1",
        "CHATWOOT_API_TOKEN": chosen["chatwoot_api"],
        "CHATWOOT_PLATFORM_TOKEN": chosen["platform"],
        "CHATWOOT_WEBHOOK_SECRETS": chosen["chatwoot"],
        "CHATWOOT_WEBHOOK_TOKEN": chosen["chatwoot_token"],
        "MAILCOW_URL": upstream.url,
        "MAILCOW_API_KEY": chosen["mailcow"],
        "MAIL_DOMAIN": "mmallelectronics.co.za",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(free_port()),
        "SMTP_PASSWORD": chosen["smtp"],
        "SMTP_USERNAME": "hub",
        "SMTP_TLS": "none",
        "SMTP_FROM": "hub@mmallelectronics.co.za",
        "HUB_SSO_SECRET": chosen["hub"],
    }
    target = Target(
        url=f"http://127.0.0.1:{port}",
        env=env,
        log_path=workdir / "bridge.log",
        upstream=upstream,
        secrets=chosen,
    )
    target.start()
    return target
