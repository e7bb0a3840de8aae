"""The bot while Typebot is slow or a call to it fails: it catches up and never loses the menu."""

from __future__ import annotations

from typing import Any

from tests.flows.harness import World, eventually
from tests.flows.test_story import JID, PHONE

MENU = "*Choose Department:*\n\n1. DTV\n2. Sales"
INVALID = "Invalid message. Please, try again.\n\n1. DTV\n2. Sales"
APOLOGY = "Sorry, I couldn't process that just now. Please send your message again."


async def _typebot_fault(world: World, **spec: Any) -> None:
    response = await world.http.post(
        f"{world.stack.sims.urls['typebot']}/_sim/faults",
        json={"count": 1, "path_prefix": "/api/v1/sessions/", **spec},
    )
    assert response.status_code == 200, response.text


async def _agent_handled(world: World) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        state = await world.contact_state(JID)
        return state if state["state"] == "agent_handled" else None

    return await eventually(probe, what="agent_handled")


async def test_lines_written_while_the_bot_is_busy_get_one_answer(world: World) -> None:
    """A customer who writes on while Typebot answers is not answered line by line: a backlog
    of replies that fit no menu item would each get "Invalid message" and delay their choice."""
    await world.phone_says(PHONE, "Hi")
    assert await world.wait_texts_to(PHONE, 2) == ["Welcome! 👋", MENU]
    await _typebot_fault(world, mode="delay", delay_s=2.0)  # the next turn is slow
    for line in ["what?", "hello?", "anyone there?", "is this thing on?", "1"]:
        await world.phone_says(PHONE, line)
    contact = await _agent_handled(world)
    assert contact["department"] == "DTV"
    texts = await world.texts_to(PHONE)
    # "what?" was in flight: its answer is the one re-prompt; "1" is the choice.
    assert texts[:3] == ["Welcome! 👋", MENU, INVALID]
    assert texts.count(INVALID) == 1
    assert "DTV" in texts[-1]
    # Nothing the customer wrote is lost: the agent reads every line.
    conversation = await world.wait_conversation_messages(PHONE, 9)
    incoming = [m["content"] for m in conversation["messages"] if m["message_type"] == 0]
    assert incoming == ["Hi", "what?", "hello?", "anyone there?", "is this thing on?", "1"]


async def test_after_a_failed_turn_the_menu_still_answers(world: World) -> None:
    """A continueChat whose outcome is unknown is not resent; the customer gets an apology, and
    sending their choice again works (the bridge still knows the menu they are looking at)."""
    await world.phone_says(PHONE, "Hi")
    await world.wait_texts_to(PHONE, 2)
    await _typebot_fault(world, mode="drop")  # the connection breaks during the call
    await world.phone_says(PHONE, "1")
    texts = await world.wait_texts_to(PHONE, 3)
    assert texts[-1] == APOLOGY
    await world.phone_says(PHONE, "1")
    contact = await _agent_handled(world)
    assert contact["department"] == "DTV"
    texts = await world.texts_to(PHONE)
    assert INVALID not in texts
    assert texts.count(APOLOGY) == 1
