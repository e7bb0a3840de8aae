"""Memory: the bridge's RSS after storing many contacts with transcripts, per contact."""

from __future__ import annotations

import time
from typing import Any

from benchmarks.context import BenchContext
from benchmarks.loadgen import closed_loop
from benchmarks.payloads import phone_of
from benchmarks.scenarios import first_contact_requests

MEMORY_BASE = 4_000_000


async def _store(ctx: BenchContext, base: int, count: int, concurrency: int) -> bool:
    """`count` new contacts say Hi; wait until each got welcome + menu (transcript of 3 lines)."""
    requests = first_contact_requests(base, count, ctx.secrets, f"M{base:08X}")
    sent = ctx.stubs.evolution.sent
    chunk = 5000  # bounded backlog: the bridge processes behind the accepted webhooks
    for start in range(0, count, chunk):
        await closed_loop(ctx.targets, requests[start : start + chunk], concurrency=concurrency)
    last = phone_of(base + count - 1)
    await ctx.stubs.watch.until(last, lambda: len(sent.get(last, [])) >= 2, 600.0)
    settled = await ctx.settle(timeout_s=600.0)
    done = sum(1 for i in range(count) if len(sent.get(phone_of(base + i), [])) >= 2)
    return settled and done == count


async def run_memory(
    ctx: BenchContext, *, contacts: int, warmup: int, concurrency: int
) -> dict[str, Any]:
    bridge = ctx.bridges[0]
    await _store(ctx, MEMORY_BASE, warmup, concurrency)  # imports, caches, pools warmed up
    rss_before = bridge.rss_bytes()
    started = time.perf_counter()
    complete = await _store(ctx, MEMORY_BASE + warmup, contacts, concurrency)
    elapsed = time.perf_counter() - started
    rss_after = bridge.rss_bytes()
    return {
        "contacts": contacts,
        "all_stored": complete,
        "elapsed_s": round(elapsed, 1),
        "contacts_per_s": round(contacts / elapsed, 1) if elapsed else 0.0,
        "rss_before_bytes": rss_before,
        "rss_after_bytes": rss_after,
        "bytes_per_contact": round((rss_after - rss_before) / contacts, 1),
    }
