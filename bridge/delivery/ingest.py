"""From a parsed webhook to the event the inbox stores: its dedupe key, kind and contact.

Dedupe keys (unique per source): a WhatsApp message is `(instance, key.id)`; a Chatwoot message
event is its message id; a Chatwoot status change is the conversation, the new status and the
delivery id; a Typebot handoff is the bot session's contact token and the department.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bridge.departments import fold_key
from bridge.flows.effects import is_bridge_source_id
from bridge.ids import CwConversationId, InstanceName, WaJid
from bridge.schemas.chatwoot import CwConversationEvent, CwMessageEvent
from bridge.schemas.evolution import MessagesUpsertEvent
from bridge.schemas.typebot import TypebotHandoff
from bridge.state.records import InboundEvent
from bridge.state.repository import Repository

EVOLUTION = "evolution"
CHATWOOT = "chatwoot"
TYPEBOT = "typebot"

KIND_WA_MESSAGE = "evolution.messages.upsert"
KIND_CW_MESSAGE = "chatwoot.message_created"
KIND_CW_STATUS = "chatwoot.conversation_status_changed"
KIND_TB_HANDOFF = "typebot.handoff"
RELAYED_MESSAGE_TYPES = frozenset({"outgoing", "template"})


@dataclass(frozen=True, slots=True)
class Skip:
    """An event acknowledged with 200 and not stored, with the reason for the log."""

    reason: str


def wa_external_id(instance: str, wa_message_id: str) -> str:
    return f"{instance}:{wa_message_id}"


def json_text(raw: bytes | None) -> str | None:
    """The raw body as text that `json.loads` reads back to the same document, or None when it
    is not plain UTF-8 (UTF-16/32 or a byte order mark, which `json.loads(bytes)` accepts).
    Decoded only for events that are stored: half of all webhooks are echoes."""
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if text.startswith("\ufeff") else text


async def whatsapp_message_event(
    repository: Repository,
    parsed: MessagesUpsertEvent,
    document: dict[str, Any],
    now_ms: int,
    *,
    ignore_groups: bool = True,
    raw_body: bytes | None = None,
) -> InboundEvent | Skip:
    key = parsed.data.key
    if key.is_broadcast or key.is_newsletter:
        return Skip("status broadcast or newsletter")
    if key.is_group and ignore_groups:
        return Skip("group message (groups are ignored)")
    phone_jid, lid = key.phone_jid, key.lid
    if phone_jid is None and lid is None:
        return Skip(f"no contact JID in key ({key.remote_jid})")
    # The contact exists before its first event is stored, so the event lands in its lane.
    contact = await repository.resolve_contact(
        InstanceName(parsed.instance),
        WaJid(phone_jid) if phone_jid else None,
        WaJid(lid) if lid else None,
        None if key.from_me else parsed.data.push_name,
    )
    return InboundEvent(
        source=EVOLUTION,
        external_id=wa_external_id(parsed.instance, key.id),
        kind=KIND_WA_MESSAGE,
        payload=document,
        contact_id=contact.id,
        received_at_ms=now_ms,
        payload_json=json_text(raw_body),
    )


async def chatwoot_message_event(
    repository: Repository,
    parsed: CwMessageEvent,
    document: dict[str, Any],
    now_ms: int,
    raw_body: bytes | None = None,
) -> InboundEvent | Skip:
    if parsed.event != "message_created":
        return Skip(f"{parsed.event} is not acted on")
    # Only an agent's reply goes anywhere: incoming lines, private notes and the echoes of the
    # bridge's own messages are acknowledged without being stored (Chatwoot echoes every one).
    if parsed.message_type not in RELAYED_MESSAGE_TYPES or parsed.private:
        return Skip(f"{parsed.message_type} message is not relayed")
    if is_bridge_source_id(parsed.source_id):
        return Skip("the bridge's own message")
    conversation_id = parsed.conversation.cw_conversation_id
    contact = await repository.find_contact_by_conversation(CwConversationId(conversation_id))
    return InboundEvent(
        source=CHATWOOT,
        external_id=f"message_created:{parsed.id}",
        kind=KIND_CW_MESSAGE,
        payload=document,
        contact_id=contact.id if contact else None,
        received_at_ms=now_ms,
        payload_json=json_text(raw_body),
    )


async def chatwoot_status_event(
    repository: Repository,
    parsed: CwConversationEvent,
    document: dict[str, Any],
    raw_body: bytes,
    delivery_id: str | None,
    now_ms: int,
) -> InboundEvent | Skip:
    if parsed.event != "conversation_status_changed" or parsed.status is None:
        return Skip(f"{parsed.event} is not acted on")
    conversation_id = parsed.cw_conversation_id
    contact = await repository.find_contact_by_conversation(CwConversationId(conversation_id))
    if contact is None:
        return Skip(f"conversation {conversation_id} is not one of the bridge's")
    # A redelivery carries the same delivery id (or the same body): stored once.
    delivery = delivery_id or hashlib.sha256(raw_body).hexdigest()[:32]
    return InboundEvent(
        source=CHATWOOT,
        external_id=f"status:{conversation_id}:{parsed.status}:{delivery}",
        kind=KIND_CW_STATUS,
        payload=document,
        contact_id=contact.id,
        received_at_ms=now_ms,
    )


def typebot_handoff_event(
    handoff: TypebotHandoff, contact_id: int, document: dict[str, Any], now_ms: int
) -> InboundEvent:
    return InboundEvent(
        source=TYPEBOT,
        external_id=f"handoff:{handoff.bridge_contact}:{fold_key(handoff.department)}",
        kind=KIND_TB_HANDOFF,
        payload=document,
        contact_id=contact_id,
        received_at_ms=now_ms,
    )


def contact_token(contact_id: int, session_nonce: str) -> str:
    """The opaque `bridge_contact` Typebot carries: the contact and its bot session."""
    return f"{contact_id}.{session_nonce}"


def contact_id_from_token(token: str) -> int | None:
    head, _, _ = token.partition(".")
    return int(head) if head.isdigit() and len(head) < 19 else None


def session_nonce_from_token(token: str) -> str:
    return token.partition(".")[2]
