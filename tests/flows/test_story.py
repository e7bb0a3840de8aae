"""The whole story through the real app and the simulators, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import copy

from tests.contracts_dir import load_contract
from tests.flows.harness import World, eventually

PHONE = "27821234567"
JID = f"{PHONE}@s.whatsapp.net"


async def _hand_off_to_dtv(world: World) -> dict:  # type: ignore[type-arg]
    await world.phone_says(PHONE, "Hi")
    texts = await world.wait_texts_to(PHONE, 2)
    assert texts[0] == "Welcome! 👋"
    assert texts[1] == "*Choose Department:*\n\n1. DTV\n2. Sales"
    await world.phone_says(PHONE, "1")
    conversation = await world.wait_conversation_messages(PHONE, 5)

    async def handed_off() -> dict | None:  # type: ignore[type-arg]
        state = await world.contact_state(JID)
        return state if state["state"] == "agent_handled" else None

    await eventually(handed_off, what="agent_handled")
    return conversation


async def test_hi_menu_choice_handoff_relay_resolve_restart(world: World) -> None:
    conversation = await _hand_off_to_dtv(world)
    state = await world.chatwoot_state()
    dtv_inbox = next(i for i in state["inboxes"] if i["name"].startswith("DTV"))
    assert conversation["inbox_id"] == dtv_inbox["id"]
    assert {"whatsapp", "dtv"} <= set(conversation["labels"])
    contents = [m["content"] for m in conversation["messages"]]
    # "Hi", the menu and the choice, in order, then the bot's goodbye.
    assert contents[:4] == ["Hi", "Welcome! 👋", "*Choose Department:*\n\n1. DTV\n2. Sales", "1"]
    assert "DTV" in contents[4]
    types = [m["message_type"] for m in conversation["messages"]]
    assert types[:5] == [0, 1, 1, 0, 1]  # incoming customer lines, outgoing bot lines

    contact = await world.contact_state(JID)
    assert contact["department"] == "DTV"
    assert contact["cw_conversation_id"] == conversation["id"]
    assert [t["trigger"] for t in contact["transitions"]][-2:] == ["triage", "hand_off"]
    bot_messages = len(await world.texts_to(PHONE))

    # Customer → agent: relayed as incoming, the bot stays quiet.
    await world.phone_says(PHONE, "My decoder shows E16")
    conversation = await world.wait_conversation_messages(PHONE, 6)
    assert conversation["messages"][-1]["content"] == "My decoder shows E16"
    assert conversation["messages"][-1]["message_type"] == 0

    # Agent → customer: markdown converted to WhatsApp formatting.
    await world.agent_replies(conversation["id"], "Please **restart** the decoder")
    texts = await world.wait_texts_to(PHONE, bot_messages + 1)
    assert texts[-1] == "Please *restart* the decoder"

    # Resolve → back to the bot; "Hi" starts the bot again.
    await world.agent_sets_status(conversation["id"], "resolved")

    async def back_to_bot() -> dict | None:  # type: ignore[type-arg]
        state = await world.contact_state(JID)
        return state if state["state"] == "bot_handled" else None

    await eventually(back_to_bot, what="bot_handled after resolve")
    await world.phone_says(PHONE, "Hi")
    texts = await world.wait_texts_to(PHONE, bot_messages + 3)
    assert texts[-2:] == ["Welcome! 👋", "*Choose Department:*\n\n1. DTV\n2. Sales"]
    # Nothing the bridge created came back around as a new message.
    final = await world.conversation_of(PHONE)
    assert final is not None
    assert (
        len([m for m in final["messages"] if m["content"] == "Please **restart** the decoder"]) == 1
    )


async def test_same_upsert_ten_times_is_processed_once(world: World) -> None:
    for _ in range(10):
        await world.phone_says(PHONE, "Hi", id="DUPLICATE0001")
    texts = await world.wait_texts_to(PHONE, 2)
    await asyncio.sleep(0.5)  # give any duplicate time to show up (it must not)
    assert await world.texts_to(PHONE) == texts
    assert len(texts) == 2


async def test_lenient_choice_by_label_and_number(world: World) -> None:
    await world.phone_says(PHONE, "Hi")
    await world.wait_texts_to(PHONE, 2)
    await world.phone_says(PHONE, "  sálès! ")
    conversation = await world.wait_conversation_messages(PHONE, 5)
    state = await world.chatwoot_state()
    sales = next(i for i in state["inboxes"] if i["name"].startswith("Sales"))
    assert conversation["inbox_id"] == sales["id"]


async def test_own_messages_never_relayed_back(world: World) -> None:
    """Bot lines posted to Chatwoot are echoed as outgoing webhooks: none reaches WhatsApp."""
    await _hand_off_to_dtv(world)
    texts = await world.texts_to(PHONE)
    # Welcome, menu, goodbye: nothing else, although Chatwoot echoed 3 outgoing bot lines.
    assert len(texts) == 3


async def test_burst_of_twenty_keeps_order(world: World) -> None:
    """Twenty webhooks accepted back to back reach Chatwoot in the order they were accepted."""
    await _hand_off_to_dtv(world)
    before = len((await world.conversation_of(PHONE) or {}).get("messages", []))
    sample = load_contract("evolution/messages-upsert-text.json")
    for i in range(20):
        body = copy.deepcopy(sample)
        body["instance"] = world.stack.settings.evolution_instance
        body["data"]["key"] = {"remoteJid": JID, "fromMe": False, "id": f"BURST{i:04d}"}
        body["data"]["message"] = {"conversation": f"line {i:02d}"}
        response = await world.post_evolution_webhook(body)
        assert response.status_code == 200
    conversation = await world.wait_conversation_messages(PHONE, before + 20)
    lines = [m["content"] for m in conversation["messages"][before:]]
    assert lines == [f"line {i:02d}" for i in range(20)]
