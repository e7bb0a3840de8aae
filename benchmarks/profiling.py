"""Sampling the bridge with py-spy while a scenario runs, and the hot spots from its stacks."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Profiler:
    """`py-spy record --format raw` on a pid; `stop()` ends it and summarises the samples."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid, self.out = pid, out
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> bool:
        exe = py_spy()
        if exe is None:
            return False
        args = [exe, "record", "--pid", str(self.pid), "--format", "raw", "--rate", "200"]
        self._process = subprocess.Popen(
            [*args, "--output", str(self.out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return True

    async def stop(self) -> dict[str, Any]:
        if self._process is None:
            return {"available": False}
        self._process.send_signal(signal.SIGINT)
        for _ in range(200):
            if self._process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        if self._process.poll() is None:
            self._process.kill()
        if not self.out.exists():
            return {"available": True, "error": "py-spy wrote no samples"}
        return {"available": True, "raw_stacks": str(self.out), **hot_spots(self.out)}


def _frame_name(frame: str) -> str:
    # "function (path/to/file.py:123)" → "function (file.py)", lines merged.
    name, _, where = frame.partition(" (")
    path = where.split(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[parts.index("bridge") :]) if "bridge" in parts else Path(path).name
    return f"{name} ({short})"


def hot_spots(raw: Path, top: int = 15) -> dict[str, Any]:
    """Self time per frame and inclusive time per bridge/ frame, as shares of all samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            if "(bridge/" in frame:
                inclusive[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "share": round(n / total, 3)} for frame, n in counter.most_common(top)
        ]

    return {"samples": total, "self": share(own), "inclusive_bridge": share(inclusive)}
