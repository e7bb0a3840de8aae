"""A webhook delivered many times is stored once, processed once and causes one outbound call."""

from __future__ import annotations

import asyncio
from typing import Any

from bridge.ids import CwConversationId, InstanceName, WaJid
from bridge.keys import INBOX, OUTBOX
from bridge.state.records import OutboxStatus
from tests.contracts_dir import load_contract
from tests.delivery.conftest import StartBridge
from tests.delivery.harness import RecordingReceiver, probe_key, wa_message, wait_until

CW_TOKEN = "cw-query-token-1234"


async def test_same_webhook_ten_times_is_processed_once(
    start_bridge: StartBridge, receiver: RecordingReceiver
) -> None:
    bridge = await start_bridge()
    document = wa_message("inst-demo", "27820000001", "DUP-1")

    # Evolution's retries overlap the original (no ordering, 30 s timeout): post concurrently,
    # then once more after everything settled.
    responses = await asyncio.gather(*(bridge.post_evolution(document) for _ in range(9)))
    bodies = [await r.json() for r in responses]
    assert [r.status for r in responses] == [200] * 9
    assert sum(body["stored"] for body in bodies) == 1
    key = probe_key("inst-demo:DUP-1")
    await wait_until(lambda: key in receiver.effects, what="the delivery")
    late = await bridge.post_evolution(document)
    assert late.status == 200
    assert await late.json() == {"ok": True, "stored": False, "duplicate": True}
    await bridge.app[INBOX].drain()
    assert await bridge.app[OUTBOX].drain() == 0

    async def settled() -> bool:  # the receiver answers before the worker records it
        return await bridge.count("outbox", "status = 'delivered'") == 1

    await wait_until(settled, what="the item to be marked delivered")
    assert await bridge.count("inbound_event") == 1
    assert await bridge.count("inbound_event", "status = 'processed'") == 1
    assert await bridge.count("contacts") == 1
    contact_id = await bridge.repo.database.fetchval("SELECT id FROM contacts")
    transcript = await bridge.repo.list_transcript(int(contact_id))
    assert [entry.body for entry in transcript] == ["inst-demo:DUP-1"]
    assert await bridge.count("outbox") == 1
    assert receiver.called_keys() == [key]
    item = await bridge.repo.get_outbox_item(
        int(await bridge.repo.database.fetchval("SELECT id FROM outbox"))
    )
    assert item is not None
    assert item.status is OutboxStatus.DELIVERED
    assert item.attempts == 1


async def test_path_event_variant_and_body_variant_share_one_dedupe_key(
    start_bridge: StartBridge, receiver: RecordingReceiver
) -> None:
    """WEBHOOK_BY_EVENTS posts to /webhooks/evolution/messages-upsert: the same message, once."""
    bridge = await start_bridge()
    document = wa_message("inst-demo", "27820000001", "DUP-2")
    without_event = {k: v for k, v in document.items() if k != "event"}
    first = await bridge.client.post(
        "/webhooks/evolution/MESSAGES_UPSERT",
        json=without_event,
        headers={"X-Webhook-Secret": "evo-webhook-secret-0123"},
    )
    second = await bridge.post_evolution(document)
    assert (first.status, second.status) == (200, 200)
    assert ((await first.json())["stored"], (await second.json())["stored"]) == (True, False)
    await wait_until(lambda: len(receiver.effects) == 1, what="the delivery")
    await bridge.app[INBOX].drain()
    assert await bridge.app[OUTBOX].drain() == 0
    assert receiver.called_keys() == [probe_key("inst-demo:DUP-2")]
    assert await bridge.count("inbound_event") == 1


async def test_events_of_one_contact_are_processed_in_arrival_order(
    start_bridge: StartBridge, receiver: RecordingReceiver
) -> None:
    bridge = await start_bridge()
    ids = [f"ORD-{n:02d}" for n in range(25)]
    for wa_id in ids:  # one contact: Evolution posts its messages one after another
        response = await bridge.post_evolution(wa_message("inst-demo", "27820000001", wa_id))
        assert response.status == 200
    expected = [probe_key(f"inst-demo:{wa_id}") for wa_id in ids]
    await wait_until(lambda: len(receiver.effects) == len(ids), what="all deliveries")
    contact_id = int(await bridge.repo.database.fetchval("SELECT id FROM contacts"))
    transcript = await bridge.repo.list_transcript(contact_id)
    assert [entry.body for entry in transcript] == [f"inst-demo:{wa_id}" for wa_id in ids]
    assert receiver.first_delivery_order(contact_id) == expected
    assert receiver.called_keys() == expected


async def test_chatwoot_redeliveries_are_stored_once(start_bridge: StartBridge) -> None:
    """Message events dedupe on the message id, status changes on the delivery id (or body)."""
    bridge = await start_bridge(chatwoot_webhook_token=CW_TOKEN)
    contact = await bridge.repo.resolve_contact(
        InstanceName("inst-demo"), WaJid("27820000077@s.whatsapp.net"), None
    )
    contact.cw_conversation_id = CwConversationId(42)
    await bridge.repo.save_contact(contact)
    status = load_contract("chatwoot/examples/conversation_status_changed.bot_handoff.json")
    message = {
        "event": "message_created",
        "id": 9011,
        "content": "hello",
        "message_type": "outgoing",
        "conversation": {"id": 42, "inbox_id": 7},
    }
    url = f"/webhooks/chatwoot?token={CW_TOKEN}"

    async def post(document: dict[str, Any], delivery: str | None = None) -> bool:
        headers = {"X-Chatwoot-Delivery": delivery} if delivery else {}
        response = await bridge.client.post(url, json=document, headers=headers)
        assert response.status == 200
        stored: bool = (await response.json())["stored"]
        return stored

    assert [await post(message) for _ in range(3)] == [True, False, False]
    assert [await post(status, "d-1"), await post(status, "d-1")] == [True, False]
    assert await post(status, "d-2") is True  # another delivery: a real second change
    assert [await post(status), await post(status)] == [True, False]  # body hash fallback
    assert await bridge.count("inbound_event", "kind = 'chatwoot.message_created'") == 1
    assert await bridge.count("inbound_event", f"contact_id = {contact.id}") == 4
