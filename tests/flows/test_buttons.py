"""The optional buttons mode: the menu goes out as reply buttons; a button tap picks by its id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bridge.demo.stack import start_stack
from tests.flows.harness import World

PHONE = "27825550000"


@pytest.fixture
async def buttons_world(tmp_path: Path) -> AsyncIterator[World]:
    stack = await start_stack(tmp_path, bridge_choice_buttons=True)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            yield World(stack, http)
    finally:
        await stack.aclose()


async def test_menu_as_buttons_and_a_button_reply_hands_off(buttons_world: World) -> None:
    world = buttons_world
    await world.phone_says(PHONE, "Hi")
    await world.wait_texts_to(PHONE, 2)
    sent = await world.sent_to(PHONE)
    assert [s["route"] for s in sent] == ["sendText", "sendButtons"]
    buttons = sent[1]["request"]["buttons"]
    assert [b["displayText"] for b in buttons] == ["DTV", "Sales"]
    assert sent[1]["request"]["title"] == "*Choose Department:*"
    # The customer taps "Sales": only the button id identifies it.
    sales = buttons[1]
    await world.phone_sends(PHONE, button_reply={"text": "Sales", "id": sales["id"]})
    conversation = await world.wait_conversation_messages(PHONE, 5)
    state = await world.chatwoot_state()
    sales_inbox = next(i for i in state["inboxes"] if i["name"].startswith("Sales"))
    assert conversation["inbox_id"] == sales_inbox["id"]
    # The agent reads the menu as text in the transcript.
    assert "1. DTV\n2. Sales" in conversation["messages"][2]["content"]
