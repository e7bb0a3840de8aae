"""Identity changes, media both ways, echoes, duplicates, races and many contacts at once."""

from __future__ import annotations

import asyncio
import base64
import copy
from typing import Any

import pytest

from tests.contracts_dir import load_contract
from tests.flows.harness import World, eventually
from tests.flows.test_story import JID, PHONE, _hand_off_to_dtv


def _upsert(sample: str, world: World, *, key: dict[str, Any], text: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(load_contract(f"evolution/{sample}"))
    body["instance"] = world.stack.settings.evolution_instance
    body["data"]["key"] = key
    body["data"]["message"] = {"conversation": text}
    body["data"]["messageType"] = "conversation"
    return body


async def test_lid_only_contact_then_phone_addressed_is_one_contact(world: World) -> None:
    lid = "123456789012345@lid"
    first = _upsert(
        "messages-upsert-text-lid-only.json",
        world,
        key={"remoteJid": lid, "fromMe": False, "id": "LID0000000001"},
        text="Hi",
    )
    assert (await world.post_evolution_webhook(first)).status_code == 200
    await eventually(lambda: world.texts_to("12345678901234"), what="menu to the LID")
    # The same person, now with the phone number known (2.3.5–2.3.6 key shape).
    second = _upsert(
        "messages-upsert-text-lid-raw.json",
        world,
        key={
            "remoteJid": lid,
            "remoteJidAlt": JID,
            "fromMe": False,
            "id": "LID0000000002",
            "addressingMode": "lid",
        },
        text="1",
    )
    assert (await world.post_evolution_webhook(second)).status_code == 200
    conversation = await world.wait_conversation_messages(PHONE, 4)
    contents = [m["content"] for m in conversation["messages"]]
    assert contents[0] == "Hi"
    assert contents[3] == "1"
    by_lid = await world.contact_state(lid)
    by_phone = await world.contact_state(JID)
    assert by_lid["id"] == by_phone["id"]
    assert by_phone["wa_lid"] == lid
    assert by_phone["wa_phone_jid"] == JID


async def test_media_both_ways(world: World) -> None:
    conversation = await _hand_off_to_dtv(world)
    count = len(conversation["messages"])
    picture = base64.b64encode(b"\x89PNG fake picture bytes").decode()
    await world.phone_sends(
        PHONE,
        media={
            "type": "image",
            "mimetype": "image/png",
            "caption": "my decoder",
            "base64": picture,
        },
    )
    conversation = await world.wait_conversation_messages(PHONE, count + 1)
    last = conversation["messages"][-1]
    assert last["content"] == "my decoder"
    assert last["message_type"] == 0
    assert len(last["attachments"]) == 1
    assert last["attachments"][0]["file_type"] == "image"
    # Agent → customer with an attachment: sent through sendMedia with the caption.
    sent_before = len(await world.sent_to(PHONE))
    form = {
        "content": "Here is the manual",
        "message_type": "outgoing",
    }
    response = await world.http.post(
        f"{world.chatwoot}/api/v1/accounts/1/conversations/{conversation['id']}/messages",
        data=form,
        files={"attachments[]": ("manual.pdf", b"%PDF-1.4 fake", "application/pdf")},
        headers=world._cw_headers(),
    )
    assert response.status_code == 200, response.text

    async def media_sent() -> list[dict[str, Any]] | None:
        sent = await world.sent_to(PHONE)
        return sent if len(sent) > sent_before else None

    sent = await eventually(media_sent, what="sendMedia")
    assert sent[-1]["route"].endswith("sendMedia")
    assert sent[-1]["request"]["mediatype"] == "document"
    assert sent[-1]["request"]["caption"] == "Here is the manual"


async def test_bridge_message_webhook_before_create_returned_is_ignored(world: World) -> None:
    conversation = await _hand_off_to_dtv(world)
    sent_before = len(await world.sent_to(PHONE))
    echo = copy.deepcopy(load_contract("chatwoot/examples/api_inbox.message_created.outgoing.json"))
    echo["id"] = 777001
    echo["content"] = "a bot line the bridge is still creating"
    echo["source_id"] = "bridge:transcript:1:99"
    echo["conversation"]["id"] = conversation["id"]
    echo["conversation"].pop("display_id", None)
    assert (await world.post_chatwoot_webhook(echo)).status_code == 200
    # A genuine agent message right after proves the lane moved past the echo.
    await world.agent_replies(conversation["id"], "real agent text")
    texts = await world.wait_texts_to(PHONE, sent_before + 1)
    assert texts[sent_before:] == ["real agent text"]


async def test_handoff_callback_twice_opens_one_conversation(world: World) -> None:
    await _hand_off_to_dtv(world)
    state = await world.chatwoot_state()
    typebot_state = (
        await world.http.get(f"{world.stack.sims.urls['typebot']}/_sim/typebot/state")
    ).json()
    calls = typebot_state["http_calls"]
    assert len(calls) == 1  # the HTTP block fired during continueChat
    body = calls[0]["body"]
    # Typebot (or a proxy) delivering the callback again changes nothing.
    secret = world.stack.settings.typebot_webhook_secret.get_secret_value()
    again = await world.http.post(
        f"{world.stack.bridge_url}/webhooks/typebot",
        content=body,
        headers={"X-Webhook-Secret": secret, "Content-Type": "application/json"},
    )
    assert again.status_code == 200
    await asyncio.sleep(0.3)
    after = await world.chatwoot_state()
    assert len(after["conversations"]) == len(state["conversations"]) == 1


async def test_phone_typed_message_pauses_the_bot(world: World) -> None:
    await world.phone_says(PHONE, "Hi")
    await world.wait_texts_to(PHONE, 2)
    # The shop owner answers from the business phone itself.
    await world.phone_says(PHONE, "Hi Thandi, I'll help you myself", from_me=True)
    await world.phone_says(PHONE, "1")
    await asyncio.sleep(0.5)
    assert len(await world.texts_to(PHONE)) == 2  # the bot said nothing more
    assert await world.conversation_of(PHONE) is None


@pytest.mark.parametrize("count", [100, pytest.param(500, marks=pytest.mark.soak)])
async def test_many_contacts_in_parallel_never_cross(world: World, count: int) -> None:
    phones = [f"2783{i:07d}" for i in range(count)]
    menus_seen: set[str] = set()
    chose: list[asyncio.Task[dict[str, Any]]] = []

    async def choose_at_each_menu() -> bool | None:
        # One poll of the simulator for every phone (each phone polling on its own made the
        # test, not the bridge, the bottleneck: hundreds of copies of the whole sent list).
        sent = (await world.http.get(f"{world.evolution}/_sim/evolution/sent")).json()
        counts: dict[str, int] = {}
        for message in sent:
            number = str(message.get("request", message).get("number", "")).split("@")[0]
            counts[number] = counts.get(number, 0) + 1
        for phone in phones:
            if phone not in menus_seen and counts.get(phone, 0) >= 2:  # welcome + menu
                menus_seen.add(phone)
                answer = world.phone_says(phone, "2", push_name=f"Customer {phone}")
                chose.append(asyncio.create_task(answer))
        return len(menus_seen) == len(phones) or None

    await asyncio.gather(
        *(world.phone_says(phone, "Hi", push_name=f"Customer {phone}") for phone in phones)
    )
    await eventually(choose_at_each_menu, timeout_s=3 * count, what=f"{count} menus")
    await asyncio.gather(*chose)

    async def all_handed_off() -> list[dict[str, Any]] | None:
        conversations = (await world.chatwoot_state())["conversations"]
        done = [c for c in conversations if len(c["messages"]) >= 5]
        return conversations if len(done) == len(phones) else None

    conversations = await eventually(all_handed_off, timeout_s=3 * count, what=f"{count} handoffs")
    assert len(conversations) == len(phones)
    for conversation in conversations:
        source = conversation["contact_inbox"]["source_id"]
        contents = [m["content"] for m in conversation["messages"]]
        assert contents[0] == "Hi"
        assert contents[3] == "2"
        senders = {
            m["sender"]["identifier"] for m in conversation["messages"] if m["message_type"] == 0
        }
        assert senders == {source}


async def test_failed_send_marks_the_agent_message_failed(world: World) -> None:
    conversation = await _hand_off_to_dtv(world)
    # The customer's number stops being on WhatsApp: Evolution answers 400 (permanent).
    configured = await world.http.post(
        f"{world.evolution}/_sim/evolution/config", json={"not_on_whatsapp": [PHONE]}
    )
    assert configured.status_code == 200
    reply = await world.agent_replies(conversation["id"], "Are you still there?")

    async def marked_failed() -> dict[str, Any] | None:
        current = await world.conversation_of(PHONE)
        for message in (current or {}).get("messages", []):
            if message["id"] == reply["id"] and message.get("status") == "failed":
                return dict(message)
        return None

    failed = await eventually(marked_failed, what="agent message marked failed")
    assert "400" in failed["content_attributes"].get("external_error", "")
    letters = await world.http.get(
        f"{world.stack.bridge_url}/api/dead-letters",
        headers={"Authorization": f"Bearer {world.admin_token}"},
    )
    assert [d["kind"] for d in letters.json()["dead_letters"]] == ["evolution.send_text"]
