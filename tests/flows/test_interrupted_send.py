"""A WhatsApp send interrupted by a crash is not sent twice: Evolution's history is checked."""

from __future__ import annotations

import time

from bridge.keys import OUTBOX_ROUTES
from bridge.state.records import OutboxItem
from tests.flows.harness import World

JID = "27829990000@s.whatsapp.net"


def _item(world: World, text: str, *, attempts: int, last_error: str | None) -> OutboxItem:
    now = int(time.time() * 1000)
    return OutboxItem(
        kind="evolution.send_text",
        dedupe_key=f"test:{text}:{attempts}",
        payload={
            "instance": world.stack.settings.evolution_instance,
            "number": JID,
            "text": text,
        },
        attempts=attempts,
        last_error=last_error,
        created_at_ms=now - 2_000,
    )


async def test_interrupted_send_that_went_through_is_not_repeated(world: World) -> None:
    route = world.stack.app[OUTBOX_ROUTES]["evolution.send_text"]
    first = await route.handler(_item(world, "Your order shipped", attempts=1, last_error=None))
    # The process died before recording the result; the item is claimed again.
    again = await route.handler(_item(world, "Your order shipped", attempts=2, last_error=None))
    assert again.result["wa_message_id"] == first.result["wa_message_id"]
    assert len(await world.sent_to("27829990000")) == 1


async def test_interrupted_send_that_never_left_is_sent(world: World) -> None:
    route = world.stack.app[OUTBOX_ROUTES]["evolution.send_text"]
    await route.handler(_item(world, "first text", attempts=1, last_error=None))
    other = await route.handler(_item(world, "second text", attempts=2, last_error=None))
    sent = await world.sent_to("27829990000")
    assert [s["request"]["text"] for s in sent] == ["first text", "second text"]
    assert other.result["wa_message_id"] == sent[-1]["response"]["key"]["id"]


async def test_a_retry_after_a_timeout_that_went_through_is_not_repeated(world: World) -> None:
    route = world.stack.app[OUTBOX_ROUTES]["evolution.send_text"]
    await route.handler(_item(world, "same words", attempts=1, last_error=None))
    # The first answer timed out, but Evolution had sent the message.
    await route.handler(_item(world, "same words", attempts=2, last_error="timed out"))
    assert len(await world.sent_to("27829990000")) == 1
