"""The real service as a subprocess (`python -m bridge serve`) against in-process simulators.

`prepare_stack` starts the simulators and runs `bridge setup` against them (like
`bridge.demo.stack.start_stack`, minus the in-process bridge); `BridgeProcess` runs, kills
(SIGKILL) and restarts the service with the environment derived from those settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from pydantic import SecretStr

from bridge.demo.stack import configured_settings, free_port
from bridge.settings import Settings
from bridge.sim.runner import SimStack, start_simulators

REPO_ROOT = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce `settings` in a child process."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[name.upper()] = str(value)
    return env


@dataclass
class PreparedStack:
    """Simulators (set up by `bridge setup`) and the settings of a bridge pointed at them."""

    sims: SimStack
    settings: Settings
    workdir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.bridge_port}"

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.bridge_admin_token.get_secret_value()}"}

    def secret_values(self) -> list[str]:
        """Every secret the bridge holds (to look for in logs and answers)."""
        values = [
            value.get_secret_value()
            for name in type(self.settings).model_fields
            if isinstance(value := getattr(self.settings, name), SecretStr)
        ]
        values += [s.get_secret_value() for s in self.settings.chatwoot_webhook_secret_list]
        return [v for v in values if len(v) >= 8 and "," not in v]

    def process(self, name: str = "bridge", **overrides: str) -> BridgeProcess:
        env = {**settings_env(self.settings), **overrides}
        return BridgeProcess(env=env, url=self.url, log_path=self.workdir / f"{name}.log")


async def prepare_stack(
    workdir: Path, *, database_url: str | None = None, **overrides: Any
) -> PreparedStack:
    sims = await start_simulators()
    try:
        settings = await configured_settings(
            sims,
            workdir,
            port=free_port(),
            database_url=database_url,
            log_format="json",
            **overrides,
        )
    except BaseException:
        await sims.aclose()
        raise
    return PreparedStack(sims, settings, workdir)


@dataclass
class BridgeProcess:
    """One `python -m bridge serve` child; stderr/stdout go to `log_path` (appended)."""

    env: dict[str, str]
    url: str
    log_path: Path
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    _log: Any = field(default=None, repr=False)

    async def start(self, *, timeout_s: float = 30.0) -> None:
        assert self.proc is None or self.proc.returncode is not None, "already running"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "CHATWOOT_"))}
        env.update(self.env)
        self._log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridge",
            "serve",
            env=env,
            cwd=REPO_ROOT,
            stdout=self._log,
            stderr=self._log,
        )
        self.starts += 1
        await self.wait_up(timeout_s)

    async def wait_up(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with httpx.AsyncClient(timeout=2) as http:
            while loop.time() < deadline:
                assert self.proc is not None
                if self.proc.returncode is not None:
                    raise AssertionError(f"bridge exited {self.proc.returncode}:\n{self.logs()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise AssertionError(f"bridge did not come up:\n{self.logs()[-4000:]}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — a crash."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        self._closed()

    async def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM and wait (graceful); SIGKILL if it hangs. Returns the exit code."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout_s)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._closed()
        return self.proc.returncode if self.proc and self.proc.returncode is not None else -1

    def _closed(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text(encoding="ascii")
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])

    def logs(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class SimOutage:
    """Stop a simulator's listener (connection refused) and bring it back on the same port."""

    sims: SimStack
    name: str

    def _runner(self) -> web.AppRunner:
        app = self.sims.apps[self.name]
        return next(r for r in self.sims._runners if r.app is app)

    async def down(self) -> None:
        runner = self._runner()
        for site in list(runner.sites):
            await site.stop()
        # Keep-alive connections would still reach the app: cut them too.
        server = runner.server
        if server is not None:
            for connection in list(server.connections):
                connection.force_close()

    async def up(self) -> None:
        runner = self._runner()
        port = int(self.sims.urls[self.name].rsplit(":", 1)[1])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.sims.host, port))
        await web.SockSite(runner, sock).start()
