"""No Docker engine runs here, so the Dockerfile's essentials are checked by reading it."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCKERFILE = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
FINAL_STAGE = DOCKERFILE.split("\nFROM ")[-1]


def _instructions(name: str) -> list[str]:
    pattern = re.compile(rf"^{name}\s+(.*?)(?<!\\)$", re.MULTILINE | re.DOTALL)
    return [m.group(1) for m in pattern.finditer(FINAL_STAGE)]


def test_slim_python_311_or_newer() -> None:
    images = re.findall(r"^FROM\s+python:(\d+)\.(\d+)-slim", DOCKERFILE, re.MULTILINE)
    assert images
    assert all((int(major), int(minor)) >= (3, 11) for major, minor in images)


def test_runs_as_non_root_user() -> None:
    users = _instructions("USER")
    assert users
    assert users[-1].strip() not in {"root", "0"}


def test_volume_for_sqlite_and_database_url_points_into_it() -> None:
    volumes = _instructions("VOLUME")
    assert volumes
    volume = json.loads(volumes[-1])[0]
    match = re.search(r"BRIDGE_DATABASE_URL=sqlite:///(/\S+)", FINAL_STAGE)
    assert match
    assert match.group(1).startswith(volume + "/")


def test_healthcheck_probes_healthz() -> None:
    checks = [line for line in FINAL_STAGE.splitlines() if "HEALTHCHECK" in line]
    assert checks
    assert "/healthz" in FINAL_STAGE.split("HEALTHCHECK", 1)[1].split("\n\n")[0]


def test_exec_form_entrypoint_so_pid1_gets_sigterm() -> None:
    entrypoints = _instructions("ENTRYPOINT")
    assert entrypoints
    argv = json.loads(entrypoints[-1])
    assert argv[:3] == ["python", "-m", "bridge"]
    assert json.loads(_instructions("CMD")[-1]) == ["serve"]
