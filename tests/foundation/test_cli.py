"""The `bridge` command: configuration errors exit 2; `serve` stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.factories import env_for

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env(**values: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if k not in env_for() and not k.startswith("BRIDGE")
    }
    keep.update(values)
    return keep


def test_missing_configuration_exits_2_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "serve"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "EVOLUTION_URL: missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_answers_and_shuts_down_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = _clean_env(
        **env_for(
            bridge_port=port,
            bridge_host="127.0.0.1",
            bridge_database_url=f"sqlite:///{tmp_path / 'bridge.db'}",
            bridge_departments_file=ROOT / "config" / "departments.toml",
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    status = r.status
            except OSError:
                time.sleep(0.1)
        assert status == 200, process.stderr.read() if process.poll() is not None else "no answer"
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)  # the contract: within 8 s, plus start-up slack
        assert returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _, stderr = process.communicate()
    assert "Traceback" not in stderr
    assert (tmp_path / "bridge.db").exists()  # serve applied the migrations at start-up


def test_migrate_applies_schema_and_is_repeatable(tmp_path: Path) -> None:
    env = _clean_env(BRIDGE_DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'b.db'}")
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "bridge", "migrate"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert "schema version" in result.stdout
