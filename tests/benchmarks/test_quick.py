"""CI smoke: `python -m benchmarks --quick` completes with nothing lost, duplicated or reordered.

Only completion and integrity are checked; the timings in the report are never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_benchmark_completes_with_every_message_delivered_once_in_order(
    tmp_path: Path,
) -> None:
    out = tmp_path / "report.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["integrity"] == {"lost": 0, "duplicated": 0, "out_of_order": 0, "unexpected": 0}
    sqlite = report["backends"]["sqlite"]
    conversations = sqlite["conversations"]
    assert conversations["complete"] == conversations["contacts"] > 0
    assert sqlite["latency"]["e2e_latency_ms"]["n"] == sqlite["latency"]["accepted"] > 0
    ingest = sqlite["ingest"]
    assert ingest["ok"] == ingest["requests"] > 0
    # Each ingest round is paired with its own limit round, on new rows each time.
    assert len(ingest["rounds"]) == len(report["limit"]["rounds"]) == 2
    assert [r["limit_rps"] for r in ingest["rounds"]] == [
        r["rps"] for r in report["limit"]["rounds"]
    ]
    assert all(r["ok"] == r["requests"] for r in report["limit"]["rounds"])
    assert sqlite["memory"]["all_stored"] is True
    assert "limit (bare aiohttp + SQLite)" in completed.stdout
