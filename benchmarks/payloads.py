"""Webhook bodies as Evolution and Chatwoot send them (shapes of the vendor samples)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from benchmarks.loadgen import Request

INSTANCE = "mmall"
ACCOUNT = {"id": 1, "name": "M-Mall"}


@dataclass(frozen=True, slots=True)
class Secrets:
    evolution: str
    typebot: str
    chatwoot: str
    admin: str


def phone_of(index: int) -> str:
    return f"2782{index:07d}"


def jid_of(phone: str) -> str:
    return f"{phone}@s.whatsapp.net"


def evolution_upsert(phone: str, wa_message_id: str, text: str, push_name: str) -> dict[str, Any]:
    jid = jid_of(phone)
    return {
        "event": "messages.upsert",
        "instance": INSTANCE,
        "data": {
            "key": {
                "remoteJid": jid,
                "remoteJidAlt": jid,
                "fromMe": False,
                "id": wa_message_id,
                "participant": "",
                "addressingMode": "pn",
            },
            "pushName": push_name,
            "status": "DELIVERY_ACK",
            "message": {
                "conversation": text,
                "messageContextInfo": {
                    "deviceListMetadata": {
                        "senderKeyIndexes": [],
                        "recipientKeyIndexes": [],
                        "senderTimestamp": {"low": 1780922206, "high": 0, "unsigned": True},
                    },
                    "deviceListMetadataVersion": 2,
                },
            },
            "messageType": "conversation",
            "messageTimestamp": int(time.time()),
            "instanceId": "00000000-0000-4000-8000-000000000001",
            "source": "android",
        },
        "destination": "http://127.0.0.1/webhooks/evolution",
        "date_time": "2026-06-22T19:59:08.161Z",
        "sender": "27110000000@s.whatsapp.net",
        "server_url": "http://127.0.0.1:8080",
        "apikey": None,
    }


def evolution_request(body: dict[str, Any], secrets: Secrets) -> Request:
    return Request(
        "/webhooks/evolution",
        json.dumps(body).encode(),
        (("X-Webhook-Secret", secrets.evolution),),
    )


def chatwoot_request(body: dict[str, Any], secret: str, delivery_id: str) -> Request:
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    ts = str(int(time.time()))
    signature = hmac.new(secret.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return Request(
        "/webhooks/chatwoot",
        raw,
        (
            ("X-Chatwoot-Timestamp", ts),
            ("X-Chatwoot-Signature", f"sha256={signature}"),
            ("X-Chatwoot-Delivery", delivery_id),
        ),
    )


def typebot_handoff_request(
    bridge_contact: str, department: str, name: str, secret: str
) -> Request:
    body = {"bridge_contact": bridge_contact, "department": department, "name": name}
    return Request("/webhooks/typebot", json.dumps(body).encode(), (("X-Webhook-Secret", secret),))


def chatwoot_conversation(conv: dict[str, Any]) -> dict[str, Any]:
    """A conversation as Chatwoot shows it in API answers and webhooks."""
    return {
        "id": conv["id"],
        "display_id": conv["id"],
        "inbox_id": conv["inbox_id"],
        "status": conv["status"],
        "channel": "Channel::Api",
        "contact_inbox": {
            "contact_id": conv["contact_id"],
            "inbox_id": conv["inbox_id"],
            "source_id": conv["source_id"],
        },
        "meta": {"sender": {"id": conv["contact_id"], "type": "contact"}},
        "labels": list(conv["labels"]),
        "custom_attributes": {},
        "additional_attributes": {},
    }


def chatwoot_message_created(conv: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    outgoing = message["message_type"] == 1
    return {
        "event": "message_created",
        "account": ACCOUNT,
        "id": message["id"],
        "content": message["content"],
        "content_type": "text",
        "content_attributes": {},
        "message_type": "outgoing" if outgoing else "incoming",
        "private": message["private"],
        "source_id": message["source_id"],
        "sender": {"id": 3, "name": "Alex Agent", "type": "user"}
        if outgoing
        else {"id": conv["contact_id"], "type": "contact"},
        "conversation": chatwoot_conversation(conv),
        "inbox": {"id": conv["inbox_id"], "name": "WhatsApp"},
        "created_at": "2026-07-20T10:21:05.377Z",
    }


def chatwoot_status_changed(conv: dict[str, Any]) -> dict[str, Any]:
    return {
        **chatwoot_conversation(conv),
        "event": "conversation_status_changed",
        "changed_attributes": None,
        "account": ACCOUNT,
    }
