"""One benchmark run: the limit, then each storage backend side by side, into one report."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp

from benchmarks import report as report_mod
from benchmarks.bridge_proc import ServerProcess, free_port, start_bridge, start_limit
from benchmarks.context import BenchContext
from benchmarks.emitter import WebhookEmitter
from benchmarks.loadgen import Target
from benchmarks.memory import run_memory
from benchmarks.payloads import Secrets
from benchmarks.profiling import Profiler
from benchmarks.scenarios import (
    INGEST_BASE,
    first_contact_requests,
    run_ingest,
    run_latency,
    run_limit,
)
from benchmarks.story import run_conversations
from benchmarks.stubs import start_stubs
from bridge.state.scratch import scratch_schema


@dataclass(frozen=True)
class Options:
    quick: bool
    postgres_url: str | None
    ingest_requests: int
    # Limit and ingest alternate this many times on SQLite and the medians are reported: one
    # pair is ~1 s each, and a neighbour's burst on this shared machine moves one by 30 %.
    ingest_rounds: int
    concurrency: int
    latency_rate: float
    latency_seconds: float
    latency_contacts: int
    conversations: int
    conversation_concurrency: int
    memory_contacts: int
    # PostgreSQL stores a new customer ~10× slower here (round trips, the server on the same two
    # cores): 100,000 would take a quarter of an hour; the per-contact figure needs far fewer.
    postgres_memory_contacts: int
    memory_warmup: int
    profile: bool
    workdir: Path | None = None

    @classmethod
    def defaults(cls, quick: bool, postgres_url: str | None, profile: bool) -> Options:
        return cls(
            quick=quick,
            postgres_url=postgres_url,
            ingest_requests=2_000 if quick else 5_000,  # 400 took ~0.2 s: too noisy a ratio
            ingest_rounds=2 if quick else 3,  # two in quick mode: the pairing is exercised
            concurrency=64,
            latency_rate=200.0,
            latency_seconds=2.0 if quick else 30.0,
            latency_contacts=10 if quick else 100,
            conversations=50 if quick else 1_000,
            conversation_concurrency=50 if quick else 200,
            memory_contacts=400 if quick else 100_000,
            postgres_memory_contacts=400 if quick else 20_000,
            memory_warmup=100 if quick else 500,
            profile=profile,
        )


@dataclass(frozen=True)
class Backend:
    name: str
    replicas: int
    scenarios: tuple[str, ...]
    ingest_rounds: int = 1


@dataclass
class Limit:
    """The bare handler's process, measured again beside each ingest round."""

    server: ServerProcess
    options: Options
    rounds: list[dict[str, Any]] = field(default_factory=list)

    async def measure(self) -> dict[str, Any]:
        n, size = len(self.rounds), self.options.ingest_requests
        # New rows every round: a repeated id would be an ignored insert, not a commit.
        requests = first_contact_requests(INGEST_BASE + n * size, size, _new_secrets(), f"L{n}")
        result = await run_limit(self.server, requests, self.options.concurrency)
        self.rounds.append(result)
        return result

    def report(self) -> dict[str, Any]:
        return {
            "rps": median(r["rps"] for r in self.rounds),
            "rounds": self.rounds,
            "requests_per_round": self.options.ingest_requests,
        }


async def _ingest_rounds(
    ctx: BenchContext, options: Options, rounds: int, limit: Limit
) -> dict[str, Any]:
    """`rounds` × (limit, then ingest): each ratio is of two neighbouring measurements, and
    the medians are the figures (each round brings new customers, processed before the next)."""
    results: list[dict[str, Any]] = []
    for n in range(rounds):
        if rounds > 1 or not limit.rounds:
            limit_rps = (await limit.measure())["rps"]
        else:  # a single round (PostgreSQL) is compared with the rounds measured before
            limit_rps = limit.report()["rps"]
        size = options.ingest_requests
        requests = first_contact_requests(INGEST_BASE + n * size, size, ctx.secrets, f"I{n}")
        result = await run_ingest(ctx, requests, options.concurrency)
        result["limit_rps"] = limit_rps
        result["ratio"] = round(result["rps"] / limit_rps, 3)
        results.append(result)
    return {
        "requests": sum(r["requests"] for r in results),
        "ok": sum(r["ok"] for r in results),
        "rps": median(r["rps"] for r in results),
        "ratio": round(median(r["ratio"] for r in results), 3),
        "settled": all(r["settled"] for r in results),
        "rounds": results,
    }


def _new_secrets() -> Secrets:
    return Secrets(*(secrets.token_urlsafe(24) for _ in range(4)))


@contextlib.asynccontextmanager
async def _postgres_schema(base: str) -> AsyncIterator[str]:
    """A fresh schema in the given database (dropped afterwards), like the test fixtures."""
    async with scratch_schema(base, "bridge_bench") as url:
        yield url


@contextlib.asynccontextmanager
async def _stack(
    name: str, replicas: int, database_url: str, workdir: Path
) -> AsyncIterator[BenchContext]:
    """Stubs + `replicas` bridge processes on one database, and a context to drive them."""
    keys = _new_secrets()
    ports = [free_port() for _ in range(replicas)]
    targets = [Target("127.0.0.1", p) for p in ports]
    stubs = await start_stubs(free_port(), targets, keys)
    bridges: list[ServerProcess] = []
    driver = WebhookEmitter(targets, max_connections=256)
    try:
        for index, port in enumerate(ports):
            bridges.append(
                await start_bridge(
                    f"{name}-{index}",
                    port=port,
                    database_url=database_url,
                    upstream_url=stubs.url,
                    workdir=workdir,
                    secrets=keys,
                )
            )
        async with aiohttp.ClientSession() as http:
            yield BenchContext(bridges, stubs, keys, http, driver)
    finally:
        await driver.aclose()
        for bridge in bridges:
            await bridge.stop()
        await stubs.aclose()


async def _run_backend(
    backend: Backend, options: Options, database_url: str, workdir: Path, limit: Limit
) -> dict[str, Any]:
    out: dict[str, Any] = {"replicas": backend.replicas}
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    async with _stack(backend.name, backend.replicas, database_url, workdir) as ctx:
        if "ingest" in backend.scenarios:
            out["ingest"] = await _ingest_rounds(ctx, options, backend.ingest_rounds, limit)
        if "conversations" in backend.scenarios:
            profiler = None
            if options.profile and backend.name == "sqlite":
                profiler = Profiler(ctx.bridges[0].pid, workdir / "profile-conversations.txt")
                profiler.start()
            out["conversations"] = await run_conversations(
                ctx,
                contacts=options.conversations,
                concurrency=options.conversation_concurrency,
            )
            if profiler is not None:
                out["profile"] = await profiler.stop()
        if "latency" in backend.scenarios:
            out["latency"] = await run_latency(
                ctx,
                contacts=options.latency_contacts,
                rate_per_s=options.latency_rate,
                duration_s=options.latency_seconds,
            )
        out["webhooks_from_stubs"] = dict(ctx.stubs.emitter.statuses)
    if "memory" in backend.scenarios:
        # A fresh process and database, so the RSS delta is the stored contacts' alone.
        memory_url = database_url
        contacts = options.postgres_memory_contacts
        if database_url.startswith("sqlite"):
            memory_url = f"sqlite:///{workdir / 'memory.db'}"
            contacts = options.memory_contacts
        async with _stack(backend.name + "-memory", 1, memory_url, workdir) as ctx:
            out["memory"] = await run_memory(
                ctx,
                contacts=contacts,
                warmup=options.memory_warmup,
                concurrency=options.concurrency,
            )
    return out


def _backends(options: Options) -> list[Backend]:
    everything = ("ingest", "conversations", "latency", "memory")
    backends = [Backend("sqlite", 1, everything, options.ingest_rounds)]
    if options.postgres_url:
        backends.append(Backend("postgres", 1, everything))
        backends.append(Backend("postgres_2_replicas", 2, ("ingest", "conversations", "latency")))
    return backends


async def run(options: Options) -> dict[str, Any]:
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bridge-bench-") as tmp:
        root = options.workdir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        limit = Limit(await start_limit(root), options)
        backends: dict[str, Any] = {}
        try:
            for backend in _backends(options):
                workdir = root / backend.name
                if backend.name == "sqlite":
                    url = f"sqlite:///{workdir / 'bridge.db'}"
                    backends[backend.name] = await _run_backend(
                        backend, options, url, workdir, limit
                    )
                else:
                    assert options.postgres_url is not None
                    async with _postgres_schema(options.postgres_url) as url:
                        backends[backend.name] = await _run_backend(
                            backend, options, url, workdir, limit
                        )
        finally:
            await limit.server.stop()
    report: dict[str, Any] = {
        "meta": {
            "quick": options.quick,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": round(time.time() - started, 1),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "options": {k: str(v) for k, v in vars(options).items()},
            "upstreams": "benchmarks.stubs (fast stubs of Evolution, Typebot and Chatwoot; "
            "the simulators would be the bottleneck, see benchmarks/stubs.py)",
        },
        "limit": limit.report(),
        "backends": backends,
    }
    report["integrity"] = report_mod.integrity_totals(backends)
    report["targets"] = report_mod.targets(report)
    return report
