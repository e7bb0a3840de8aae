"""`bridge demo` runs in the suite: every checklist row must pass."""

from __future__ import annotations

import io

from bridge.demo.cli import demo_main


async def test_demo_checklist_passes() -> None:
    out = io.StringIO()
    code = await demo_main(keep=False, out=out)
    report = out.getvalue()
    assert code == 0, report
    assert "0 failed" in report
    assert "FAIL" not in report
    # Each of the brief's five checklist sections ran.
    for section in ("1. Provisioning", "2. WhatsApp", "3. Email", "4. Unified view", "5. Security"):
        assert section in report
    assert report.count("PASS") >= 14
