"""Plain slotted records of the state layer: rows in, rows out, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bridge.ids import (
    CwContactId,
    CwConversationId,
    CwInboxId,
    CwMessageId,
    InstanceName,
    TbSessionId,
    WaJid,
    WaMessageId,
)


class ContactState(StrEnum):
    """FSM states of a WhatsApp contact (stored as these lowercase values)."""

    BOT_HANDLED = "bot_handled"
    TRIAGED = "triaged"
    AGENT_HANDLED = "agent_handled"


class InboundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    DEAD = "dead"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    INFLIGHT = "inflight"
    DELIVERED = "delivered"
    DEAD = "dead"


class Direction(StrEnum):
    """Seen from the bridge: inbound = from the customer, outbound = to the customer."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(slots=True, eq=False)
class Contact:
    """One WhatsApp contact of one Evolution instance; `wa_jid` is the JID to reply to."""

    id: int
    instance: InstanceName
    wa_jid: WaJid
    wa_phone_jid: WaJid | None = None
    wa_lid: WaJid | None = None
    state: ContactState = ContactState.BOT_HANDLED
    department: str | None = None
    cw_contact_id: CwContactId | None = None
    cw_conversation_id: CwConversationId | None = None
    cw_inbox_id: CwInboxId | None = None
    tb_session_id: TbSessionId | None = None
    tb_session_at_ms: int | None = None
    push_name: str | None = None
    bot_paused: bool = False
    created_at_ms: int = 0
    updated_at_ms: int = 0


@dataclass(slots=True)
class TranscriptEntry:
    """One message of the bot phase; `seq` orders a contact's transcript (1, 2, 3…)."""

    contact_id: int
    direction: Direction
    body: str
    kind: str = "text"
    media_url: str | None = None
    wa_message_id: WaMessageId | None = None
    wa_timestamp_ms: int | None = None
    seq: int = 0
    id: int = 0
    created_at_ms: int = 0


@dataclass(slots=True)
class MessageLink:
    """A WhatsApp message and its Chatwoot twin (each side appears in at most one link)."""

    wa_message_id: WaMessageId
    cw_message_id: CwMessageId
    direction: Direction
    contact_id: int | None = None
    cw_conversation_id: CwConversationId | None = None
    id: int = 0
    created_at_ms: int = 0


@dataclass(slots=True)
class Transition:
    """One recorded state change (or identity merge) of a contact."""

    contact_id: int
    from_state: ContactState
    to_state: ContactState
    trigger: str
    reason: str = ""
    at_ms: int = 0
    id: int = 0


@dataclass(slots=True)
class InboundEvent:
    """A stored webhook delivery; `(source, external_id)` is unique (the dedupe key)."""

    source: str
    external_id: str
    kind: str
    payload: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    status: InboundStatus = InboundStatus.PENDING
    attempts: int = 0
    error: str | None = None
    received_at_ms: int = 0
    processed_at_ms: int | None = None
    id: int = 0
    # The body as received when it is exactly `payload` as JSON: stored as it came, instead of
    # being encoded again (a webhook's largest cost after its commit).
    payload_json: str | None = field(default=None, repr=False, compare=False)


@dataclass(slots=True)
class OutboxItem:
    """One intended outbound call; `dedupe_key` is unique, `attempts` counts claims."""

    kind: str
    dedupe_key: str
    payload: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    available_at_ms: int = 0
    leased_until_ms: int | None = None
    lease_owner: str | None = None
    last_error: str | None = None
    created_at_ms: int = 0
    updated_at_ms: int = 0
    delivered_at_ms: int | None = None
    result: dict[str, Any] | None = None
    id: int = 0


@dataclass(slots=True, frozen=True)
class DeadLetter:
    """Read-only view of a dead outbox item for the admin API."""

    id: int
    kind: str
    dedupe_key: str
    contact_id: int | None
    payload: dict[str, Any]
    attempts: int
    last_error: str | None
    created_at_ms: int
    dead_at_ms: int
