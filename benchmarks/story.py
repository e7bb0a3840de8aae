"""The full story per contact, driven like the outside world: Hi → menu → "1" → handoff with
transcript → 3 relayed messages → an agent reply → resolve; then verified by content."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from benchmarks.context import BenchContext
from benchmarks.payloads import evolution_request, evolution_upsert, jid_of, phone_of
from benchmarks.report import percentiles
from benchmarks.stubs import WELCOME, goodbye
from benchmarks.verify import Integrity, compare

CONVERSATION_BASE = 3_000_000
MENU = "*Choose Department:*\n\n1. DTV\n2. Sales"
GOODBYE = goodbye("DTV")
TRANSCRIPT = ["Hi", WELCOME, MENU, "1", GOODBYE]


class StoryFailed(Exception):
    """A step's effect did not show up in time (counted, and the message as lost)."""


def relayed(phone: str) -> list[str]:
    return [f"{phone} says {n}" for n in ("one", "two", "three")]


def agent_text(phone: str) -> str:
    return f"agent answers {phone}"


async def _say(ctx: BenchContext, phone: str, text: str) -> None:
    body = evolution_upsert(phone, ctx.wa_message_id(), text, "Thandi")
    status = await ctx.driver.post(evolution_request(body, ctx.secrets))
    if status != 200:
        raise StoryFailed(f"webhook answered {status}")


async def _until(ctx: BenchContext, key: str, predicate: Any, timeout_s: float, step: str) -> None:
    if not await ctx.stubs.watch.until(key, predicate, timeout_s):
        raise StoryFailed(step)


async def hand_off(ctx: BenchContext, phone: str, timeout_s: float) -> bool:
    """Hi → menu → "1": the conversation is open with the transcript (the contact is agent's)."""
    try:
        await _hand_off(ctx, phone, timeout_s)
    except StoryFailed:
        return False
    return True


async def _hand_off(ctx: BenchContext, phone: str, timeout_s: float) -> None:
    evolution, chatwoot, jid = ctx.stubs.evolution, ctx.stubs.chatwoot, jid_of(phone)
    await _say(ctx, phone, "Hi")
    await _until(ctx, phone, lambda: len(evolution.sent.get(phone, [])) >= 2, timeout_s, "menu")
    await _say(ctx, phone, "1")

    def transcript_posted() -> bool:
        conv = chatwoot.conversation_of(jid)
        return conv is not None and len(conv.messages) >= len(TRANSCRIPT)

    await _until(ctx, jid, transcript_posted, timeout_s, "handoff")


async def full_story(ctx: BenchContext, phone: str, timeout_s: float) -> None:
    evolution, chatwoot, jid = ctx.stubs.evolution, ctx.stubs.chatwoot, jid_of(phone)
    await _hand_off(ctx, phone, timeout_s)
    for text in relayed(phone):
        await _say(ctx, phone, text)
    wanted = len(TRANSCRIPT) + 3

    def relay_done() -> bool:
        conv = chatwoot.conversation_of(jid)
        return conv is not None and len(conv.messages) >= wanted

    await _until(ctx, jid, relay_done, timeout_s, "relay")
    conv = chatwoot.conversation_of(jid)
    assert conv is not None
    chatwoot.agent_replies(conv, agent_text(phone))
    await _until(ctx, phone, lambda: len(evolution.sent.get(phone, [])) >= 4, timeout_s, "reply")
    chatwoot.set_status(conv, "resolved")
    deadline = time.monotonic() + timeout_s
    while await ctx.contact_state(phone) != "bot_handled":
        if time.monotonic() > deadline:
            raise StoryFailed("resolve")
        await asyncio.sleep(0.05)


def verify_story(ctx: BenchContext, phone: str) -> Integrity:
    evolution, chatwoot = ctx.stubs.evolution, ctx.stubs.chatwoot
    to_phone = [s.text for s in evolution.sent.get(phone, [])]
    integrity = compare([WELCOME, MENU, GOODBYE, agent_text(phone)], to_phone)
    conv = chatwoot.conversation_of(jid_of(phone))
    in_chatwoot = [m.content for m in conv.messages] if conv else []
    integrity.add(compare([*TRANSCRIPT, *relayed(phone), agent_text(phone)], in_chatwoot))
    return integrity


async def run_conversations(
    ctx: BenchContext, *, contacts: int, concurrency: int, timeout_s: float = 120.0
) -> dict[str, Any]:
    phones = [phone_of(CONVERSATION_BASE + i) for i in range(contacts)]
    slots = asyncio.Semaphore(concurrency)
    durations: list[float] = []
    failures: Counter[str] = Counter()

    async def one(phone: str) -> None:
        async with slots:
            started = time.perf_counter()
            try:
                await full_story(ctx, phone, timeout_s)
            except StoryFailed as exc:
                failures[str(exc)] += 1
                return
            durations.append((time.perf_counter() - started) * 1000)

    cpu0, started, own0 = ctx.cpu_seconds(), time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(p) for p in phones))
    elapsed = time.perf_counter() - started
    cpu = ctx.cpu_seconds() - cpu0
    own = time.process_time() - own0
    settled = await ctx.settle(timeout_s=60.0)
    integrity = Integrity()
    for phone in phones:
        integrity.add(verify_story(ctx, phone))
    return {
        "contacts": contacts,
        "concurrency": concurrency,
        "complete": len(durations),
        "failed_steps": dict(failures),
        "elapsed_s": round(elapsed, 3),
        "conversations_per_s": round(len(durations) / elapsed, 1) if elapsed else 0.0,
        "bridge_cpu_s": round(cpu, 2),
        # The stubs and the customers' side share this process: near `elapsed_s`, the
        # driver, not the bridge, is what limits the rate.
        "driver_cpu_s": round(own, 2),
        "story_ms": percentiles(durations),
        "settled": settled,
        "integrity": integrity.as_dict(),
    }
