"""Where the deployable configuration files live (`config/` at the repository root)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

# `{{name}}` as Typebot writes variable references (spaces inside the braces are tolerated).
TYPEBOT_VAR_RE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def load_json(relative: str) -> Any:
    return json.loads((CONFIG_DIR / relative).read_text(encoding="utf-8"))


def read_text(relative: str) -> str:
    return (CONFIG_DIR / relative).read_text(encoding="utf-8")


def department_keys() -> list[str]:
    with (CONFIG_DIR / "departments.toml").open("rb") as fh:
        data = tomllib.load(fh)
    return [str(d["key"]) for d in data["department"]]
