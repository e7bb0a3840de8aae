"""Chatwoot webhook payloads (API-inbox webhook_url, agent-bot outgoing_url, account webhooks)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, TypeAdapter, field_validator

from bridge.schemas.base import UpstreamModel, validate_payload

CwMessageType = Literal["incoming", "outgoing", "activity", "template"]
# Webhooks send message_type as a string at top level but as an int inside
# `conversation.messages[]` and in API responses.
_MESSAGE_TYPES: dict[int, CwMessageType] = {
    0: "incoming",
    1: "outgoing",
    2: "activity",
    3: "template",
}


def message_type_name(value: Any) -> Any:
    """Map Chatwoot's integer message_type to its name; strings pass through."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _MESSAGE_TYPES.get(value, value)
    return value


class CwAccountRef(UpstreamModel):
    id: int
    name: str | None = None


class CwInboxRef(UpstreamModel):
    id: int
    name: str | None = None


class CwSender(UpstreamModel):
    """A contact, a user (agent), an agent bot, or absent for automation messages."""

    id: int | None = None
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None
    type: str | None = None


class CwTeamRef(UpstreamModel):
    id: int
    name: str | None = None


class CwConversationMeta(UpstreamModel):
    sender: CwSender | None = None
    assignee: CwSender | None = None
    assignee_type: str | None = None
    team: CwTeamRef | None = None


class CwContactInbox(UpstreamModel):
    id: int | None = None
    contact_id: int | None = None
    inbox_id: int | None = None
    source_id: str | None = None


class CwAttachment(UpstreamModel):
    id: int | None = None
    message_id: int | None = None
    file_type: str | None = None
    content_type: str | None = None
    extension: str | None = None
    data_url: str | None = None
    thumb_url: str | None = None
    file_size: int | None = None


class CwConversation(UpstreamModel):
    """Conversation webhook data; `id` is the per-account display id used in API URLs."""

    id: int
    display_id: int | None = None
    inbox_id: int | None = None
    status: str | None = None
    meta: CwConversationMeta = Field(default_factory=CwConversationMeta)
    contact_inbox: CwContactInbox | None = None
    labels: list[str] = Field(default_factory=list)
    custom_attributes: dict[str, Any] = Field(default_factory=dict)
    additional_attributes: dict[str, Any] = Field(default_factory=dict)

    @property
    def cw_conversation_id(self) -> int:
        """The number to put in `/conversations/{id}` URLs."""
        return self.display_id if self.display_id is not None else self.id


class CwMessageEvent(UpstreamModel):
    """`message_created` / `message_updated`."""

    event: Literal["message_created", "message_updated"]
    id: int
    content: str | None = None
    message_type: CwMessageType
    private: bool = False
    content_type: str | None = None
    content_attributes: dict[str, Any] = Field(default_factory=dict)
    source_id: str | None = None
    attachments: list[CwAttachment] = Field(default_factory=list)
    sender: CwSender | None = None
    conversation: CwConversation
    inbox: CwInboxRef | None = None
    account: CwAccountRef | None = None
    created_at: str | int | None = None

    @field_validator("message_type", mode="before")
    @classmethod
    def _type_name(cls, value: Any) -> Any:
        return message_type_name(value)

    @field_validator("content_attributes", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def is_deleted(self) -> bool:
        return bool(self.content_attributes.get("deleted"))


class CwConversationEvent(CwConversation):
    """`conversation_*` events: the conversation itself plus `event` and `changed_attributes`."""

    event: Literal[
        "conversation_created",
        "conversation_status_changed",
        "conversation_updated",
        "conversation_opened",
        "conversation_resolved",
    ]
    # `null` on conversation_status_changed (by code reading); a list of
    # {attr: {previous_value, current_value}} on conversation_updated.
    changed_attributes: list[dict[str, Any]] | dict[str, Any] | None = None
    account: CwAccountRef | None = None

    def changed(self, attribute: str) -> tuple[Any, Any] | None:
        """(previous, current) of `attribute` when the event says it changed."""
        items = self.changed_attributes
        entries = items if isinstance(items, list) else [items] if items else []
        for entry in entries:
            change = entry.get(attribute)
            if isinstance(change, dict):
                return change.get("previous_value"), change.get("current_value")
        return None


class CwOtherEvent(UpstreamModel):
    """Events the bridge acknowledges and ignores (typing, contact_*, inbox_*, …)."""

    event: str


ChatwootEvent = CwMessageEvent | CwConversationEvent | CwOtherEvent

_MESSAGE = TypeAdapter(CwMessageEvent)
_CONVERSATION = TypeAdapter(CwConversationEvent)
_OTHER = TypeAdapter(CwOtherEvent)
_MESSAGE_EVENTS = frozenset({"message_created", "message_updated"})
_CONVERSATION_EVENTS = frozenset(
    {
        "conversation_created",
        "conversation_status_changed",
        "conversation_updated",
        "conversation_opened",
        "conversation_resolved",
    }
)


def parse_chatwoot_webhook(raw: Any) -> ChatwootEvent:
    """Parse one Chatwoot webhook body by its `event`; raises PayloadError with the field path."""
    event = raw.get("event") if isinstance(raw, dict) else None
    if not isinstance(event, str):
        event = None  # a list or object here is not an event name (and is unhashable)
    if event in _MESSAGE_EVENTS:
        message: CwMessageEvent = validate_payload(_MESSAGE, raw, source="chatwoot")
        return message
    if event in _CONVERSATION_EVENTS:
        conversation: CwConversationEvent = validate_payload(_CONVERSATION, raw, source="chatwoot")
        return conversation
    other: CwOtherEvent = validate_payload(_OTHER, raw, source="chatwoot")
    return other
