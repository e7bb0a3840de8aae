"""Where the vendor specs and payload samples live: `../shared/contracts` beside the checkout."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CONTRACTS_DIR = Path(
    os.environ.get(
        "BRIDGE_CONTRACTS_DIR",
        str(Path(__file__).resolve().parents[1].parent / "shared" / "contracts"),
    )
)


def load_contract(relative: str) -> Any:
    """Parse one JSON sample, e.g. `load_contract("evolution/messages-upsert-text.json")`."""
    path = CONTRACTS_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(f"contract sample missing: {path} (set BRIDGE_CONTRACTS_DIR)")
    return json.loads(path.read_text(encoding="utf-8"))
