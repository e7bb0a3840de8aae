"""The JSON report, the targets of issue 11 and the short human summary."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

KIB = 1024


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max by nearest rank (empty → zeros, with n=0 saying so)."""
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 2)

    return {
        "n": len(ordered),
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": round(ordered[-1], 2),
    }


def integrity_totals(backends: dict[str, dict[str, Any]]) -> dict[str, int]:
    totals = {"lost": 0, "duplicated": 0, "out_of_order": 0, "unexpected": 0}
    for results in backends.values():
        for scenario in results.values():
            if isinstance(scenario, dict) and "integrity" in scenario:
                for key in totals:
                    totals[key] += int(scenario["integrity"][key])
    return totals


def targets(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    sqlite = report["backends"].get("sqlite", {})
    out: dict[str, dict[str, Any]] = {}

    def target(name: str, measured: float | None, goal: str, met: bool | None) -> None:
        out[name] = {"target": goal, "measured": measured, "met": met}

    ratio = sqlite.get("ingest", {}).get("ratio")
    target("ingest_ratio_sqlite", ratio, ">= 0.5", None if ratio is None else ratio >= 0.5)
    p99 = sqlite.get("latency", {}).get("e2e_latency_ms", {}).get("p99")
    target("e2e_p99_ms_sqlite", p99, "<= 50 at 200 msg/s", None if p99 is None else p99 <= 50)
    cps = sqlite.get("conversations", {}).get("conversations_per_s")
    target("conversations_per_s_sqlite", cps, ">= 100", None if cps is None else cps >= 100)
    per_contact = sqlite.get("memory", {}).get("bytes_per_contact")
    target(
        "rss_bytes_per_contact_sqlite",
        per_contact,
        "<= 2048",
        None if per_contact is None else per_contact <= 2 * KIB,
    )
    totals = report["integrity"]
    target("lost_duplicated_out_of_order", sum(totals.values()), "== 0", sum(totals.values()) == 0)
    return out


def summary(report: dict[str, Any]) -> str:
    limit = report["limit"]
    lines = [
        f"limit (bare aiohttp + SQLite): {limit['rps']:.0f} req/s"
        f" (median of {len(limit['rounds'])} rounds)"
    ]
    for name, r in report["backends"].items():
        lines.append(f"[{name}]")
        if "ingest" in r:
            i = r["ingest"]
            rounds = ", ".join(f"{r['ratio']:.2f}" for r in i["rounds"])
            lines.append(
                f"  ingest       {i['rps']:.0f} req/s  ratio {i['ratio']:.2f} (rounds: {rounds})"
            )
        if "latency" in r:
            e = r["latency"]["e2e_latency_ms"]
            rate = r["latency"]["offered_rate_per_s"]
            lines.append(
                f"  e2e @{rate:.0f}/s   p50 {e['p50']:.1f}  p95 {e['p95']:.1f}  "
                f"p99 {e['p99']:.1f} ms (n={e['n']})"
            )
        if "conversations" in r:
            c = r["conversations"]
            lines.append(
                f"  conversations {c['complete']}/{c['contacts']} complete, "
                f"{c['conversations_per_s']:.1f}/s"
            )
        if "memory" in r:
            m = r["memory"]
            rss_mib = m["rss_after_bytes"] / 2**20
            lines.append(
                f"  memory       {m['contacts']} contacts: RSS {rss_mib:.1f} MiB,"
                f" {m['bytes_per_contact']:.0f} B/contact"
            )
    t = report["integrity"]
    lines.append(
        f"integrity: lost {t['lost']}, duplicated {t['duplicated']}, "
        f"out of order {t['out_of_order']}, unexpected {t['unexpected']}"
    )
    for name, t in report["targets"].items():
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        lines.append(f"target {name}: {t['measured']} (want {t['target']}) {verdict}")
    return "\n".join(lines)
