"""Throughput and latency scenarios: the baseline limit, ingest, and end-to-end latency."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks.bridge_proc import ServerProcess
from benchmarks.context import BenchContext
from benchmarks.loadgen import LoadResult, Request, Target, closed_loop, open_loop
from benchmarks.payloads import Secrets, evolution_request, evolution_upsert, phone_of
from benchmarks.report import percentiles
from benchmarks.story import hand_off
from benchmarks.verify import Integrity, compare, order_violations

# Phone number ranges per scenario, so scenarios never share a contact.
INGEST_BASE = 1_000_000
LATENCY_BASE = 2_000_000


def first_contact_requests(
    base: int, count: int, secrets: Secrets, id_prefix: str
) -> list[Request]:
    """`count` new customers each saying "Hi": the heaviest webhook (creates the contact)."""
    return [
        evolution_request(
            evolution_upsert(phone_of(base + i), f"{id_prefix}{i:026X}", "Hi", f"Customer {i}"),
            secrets,
        )
        for i in range(count)
    ]


def _summary(
    result: LoadResult, concurrency: int, *, own_cpu_s: float, **server_cpu_s: float
) -> dict[str, Any]:
    """A closed-loop run as reported; `server_cpu_s` names the measured server's CPU."""
    return {
        "requests": result.sent,
        "ok": result.ok,
        "errors": result.errors,
        "statuses": dict(result.statuses),
        "elapsed_s": round(result.elapsed_s, 3),
        "rps": round(result.ok_per_s, 1),
        "concurrency": concurrency,
        **{name: round(cpu, 2) for name, cpu in server_cpu_s.items()},
        "loadgen_cpu_s": round(time.process_time() - own_cpu_s, 2),
        "latency_ms": percentiles(result.latencies_ms),
    }


async def run_limit(
    server: ServerProcess, requests: list[Request], concurrency: int
) -> dict[str, Any]:
    cpu0, own0 = server.cpu_seconds(), time.process_time()
    result = await closed_loop(
        [Target("127.0.0.1", server.port)], requests, concurrency=concurrency
    )
    return _summary(result, concurrency, server_cpu_s=server.cpu_seconds() - cpu0, own_cpu_s=own0)


async def run_ingest(
    ctx: BenchContext, requests: list[Request], concurrency: int
) -> dict[str, Any]:
    """Webhooks accepted (committed, 200) per second; processing runs behind, as in production."""
    cpu0, own0 = ctx.cpu_seconds(), time.process_time()
    result = await closed_loop(ctx.targets, requests, concurrency=concurrency)
    out = _summary(result, concurrency, bridge_cpu_s=ctx.cpu_seconds() - cpu0, own_cpu_s=own0)
    out["settled"] = await ctx.settle(timeout_s=120.0)
    return out


async def run_latency(
    ctx: BenchContext, *, contacts: int, rate_per_s: float, duration_s: float
) -> dict[str, Any]:
    """Agent-handled contacts; webhook POST → message at the Chatwoot stub, at a fixed rate."""
    phones = [phone_of(LATENCY_BASE + i) for i in range(contacts)]
    handed_off = await asyncio.gather(*(hand_off(ctx, p, 60.0) for p in phones))
    ready = [p for p, ok in zip(phones, handed_off, strict=True) if ok]
    await ctx.settle()
    total = int(rate_per_s * duration_s)
    contents = [f"lat-{i}" for i in range(total)]
    owner = [ready[i % len(ready)] for i in range(total)] if ready else []
    requests = [
        evolution_request(
            evolution_upsert(owner[i], ctx.wa_message_id(), contents[i], "L"), ctx.secrets
        )
        for i in range(total)
    ]
    due: dict[int, float] = {}

    def on_sent(index: int, at: float) -> None:
        due[index] = at

    cpu0 = ctx.cpu_seconds()
    result = await open_loop(ctx.targets, requests, rate_per_s=rate_per_s, on_sent=on_sent)
    # An overloaded bridge drains its backlog after the offered load stops: wait for it, so a
    # late message is reported as late (in the percentiles), not as lost.
    settled = await ctx.settle(timeout_s=300.0)
    arrived: dict[str, float] = {}
    integrity = Integrity()
    for phone in ready:
        conv = ctx.stubs.chatwoot.conversation_of(f"{phone}@s.whatsapp.net")
        actual = [m.content for m in conv.messages if m.content.startswith("lat-")] if conv else []
        for m in conv.messages if conv else []:
            arrived.setdefault(m.content, m.arrived_at)
        # Only accepted (200) webhooks are the bridge's to deliver; a 503 is retried upstream.
        mine = [i for i in range(total) if owner[i] == phone and result.status_of.get(i) == 200]
        check = compare([contents[i] for i in mine], actual)
        # Accepted order is the order to keep (see order_violations), not the offered order.
        position = {content: n for n, content in enumerate(actual)}
        kept = [i for i in mine if i in result.spans and contents[i] in position]
        check.out_of_order = order_violations(
            [result.spans[i] for i in kept], [position[contents[i]] for i in kept]
        )
        integrity.add(check)
    latencies = [(arrived[c] - due[i]) * 1000 for i, c in enumerate(contents) if c in arrived]
    return {
        "contacts": len(ready),
        "contacts_not_handed_off": contacts - len(ready),
        "offered_rate_per_s": rate_per_s,
        "messages": total,
        "accepted": result.ok,
        "refused": dict((k, v) for k, v in result.statuses.items() if k != 200),
        "errors": result.errors,
        "achieved_rate_per_s": round(result.sent / result.elapsed_s, 1) if result.elapsed_s else 0,
        "bridge_cpu_s": round(ctx.cpu_seconds() - cpu0, 2),
        "webhook_latency_ms": percentiles(result.latencies_ms),
        "e2e_latency_ms": percentiles(latencies),
        "settled": settled,
        "integrity": integrity.as_dict(),
    }
