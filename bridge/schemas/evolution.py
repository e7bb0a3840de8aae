"""Evolution API v2 webhook payloads: the envelope and the events the bridge consumes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, TypeAdapter, field_validator

from bridge.schemas.base import LongInt, UpstreamModel, validate_payload
from bridge.schemas.evolution_message import ContextInfo, WaMessage, WaModel

PHONE_SUFFIX = "@s.whatsapp.net"
LID_SUFFIX = "@lid"
GROUP_SUFFIX = "@g.us"
NEWSLETTER_SUFFIX = "@newsletter"
BROADCAST_JID = "status@broadcast"

# A timestamp this large is milliseconds, not seconds (seconds reach 1e12 only in year 33658).
_MS_THRESHOLD = 10**12


class MessageKey(WaModel):
    """Baileys message key. Which field holds the phone JID changed in every 2.3.x release.

    2.3.7 rewrites `remoteJid := remoteJidAlt` (both phone); 2.3.5–2.3.6 send `remoteJid=@lid`
    with the phone in `remoteJidAlt`; 2.4-rc swaps them; 2.3.0 used `senderPn`; 2.3.1–2.3.2 kept
    the LID in `previousRemoteJid`; LID-only contacts have no phone at all.
    """

    remote_jid: str = Field(min_length=1)
    id: str = Field(min_length=1)
    from_me: bool = False
    remote_jid_alt: str | None = None
    participant: str | None = None
    participant_alt: str | None = None
    addressing_mode: str | None = None
    sender_pn: str | None = None
    previous_remote_jid: str | None = None

    def _candidates(self) -> tuple[str | None, ...]:
        return (self.remote_jid, self.remote_jid_alt, self.sender_pn, self.previous_remote_jid)

    @property
    def phone_jid(self) -> str | None:
        """The contact's `…@s.whatsapp.net` JID, wherever this version put it."""
        return next((j for j in self._candidates() if j and j.endswith(PHONE_SUFFIX)), None)

    @property
    def lid(self) -> str | None:
        """The contact's `…@lid` JID if any field carries it."""
        return next((j for j in self._candidates() if j and j.endswith(LID_SUFFIX)), None)

    @property
    def author_jid(self) -> str | None:
        """Group author (participant, preferring its phone form), else None."""
        for jid in (self.participant_alt, self.participant):
            if jid and jid.endswith(PHONE_SUFFIX):
                return jid
        return self.participant or None

    @property
    def is_group(self) -> bool:
        return self.remote_jid.endswith(GROUP_SUFFIX)

    @property
    def is_broadcast(self) -> bool:
        return self.remote_jid == BROADCAST_JID or self.remote_jid.endswith("@broadcast")

    @property
    def is_newsletter(self) -> bool:
        return self.remote_jid.endswith(NEWSLETTER_SUFFIX)


def _seconds(value: int) -> int:
    return value // 1000 if value >= _MS_THRESHOLD else value


class MessageData(WaModel):
    """`data` of `messages.upsert` and `send.message` (also the body of a send response)."""

    key: MessageKey
    push_name: str | None = None
    status: str | int | None = None
    message: WaMessage | None = None
    message_type: str | None = None
    message_timestamp: LongInt
    context_info: ContextInfo | None = None
    instance_id: str | None = None
    source: str | None = None

    @field_validator("message_timestamp")
    @classmethod
    def _normalise_seconds(cls, value: int) -> int:
        return _seconds(value)


class MessageUpdateData(WaModel):
    """Receipt (`messages.update`); match on `key_id` only, `remote_jid` may be the LID."""

    key_id: str = Field(min_length=1)
    remote_jid: str | None = None
    from_me: bool | None = None
    participant: str | None = None
    status: str | int | None = None
    message_id: str | None = None


class MessageDeleteData(MessageKey):
    """`messages.delete`: the revoked key itself (2.3.7 adds `status: DELETED`)."""

    status: str | None = None


class MessageEditedData(WaModel):
    """`messages.edited`: a protocolMessage (edit or revoke)."""

    key: MessageKey
    type: str | int | None = None
    edited_message: WaMessage | None = None
    timestamp_ms: LongInt | None = None


class ConnectionUpdateData(WaModel):
    instance: str | None = None
    wuid: str | None = None
    profile_name: str | None = None
    state: str = Field(min_length=1)
    status_reason: int | None = None


class _Envelope(UpstreamModel):
    """Fields common to every webhook POST; `date_time`/`sender` are informational only."""

    instance: str = Field(min_length=1)
    destination: str | None = None
    date_time: str | None = None
    sender: str | None = None
    server_url: str | None = None
    apikey: SecretStr | None = None  # a live instance token when exposed: never log it


class MessagesUpsertEvent(_Envelope):
    event: Literal["messages.upsert"]
    data: MessageData


class SendMessageEvent(_Envelope):
    event: Literal["send.message"]
    data: MessageData


class MessagesUpdateEvent(_Envelope):
    event: Literal["messages.update"]
    data: MessageUpdateData


class MessagesDeleteEvent(_Envelope):
    event: Literal["messages.delete"]
    data: MessageDeleteData


class MessagesEditedEvent(_Envelope):
    event: Literal["messages.edited"]
    data: MessageEditedData


class ConnectionUpdateEvent(_Envelope):
    event: Literal["connection.update"]
    data: ConnectionUpdateData


class OtherEvolutionEvent(_Envelope):
    """Any event the bridge stores but does not act on (qrcode.updated, contacts.upsert, …)."""

    event: str
    data: Any = None


EvolutionEvent = (
    MessagesUpsertEvent
    | SendMessageEvent
    | MessagesUpdateEvent
    | MessagesDeleteEvent
    | MessagesEditedEvent
    | ConnectionUpdateEvent
    | OtherEvolutionEvent
)

_KNOWN: dict[str, type[_Envelope]] = {
    "messages.upsert": MessagesUpsertEvent,
    "send.message": SendMessageEvent,
    "messages.update": MessagesUpdateEvent,
    "messages.delete": MessagesDeleteEvent,
    "messages.edited": MessagesEditedEvent,
    "connection.update": ConnectionUpdateEvent,
}
_ADAPTERS: dict[type[_Envelope], TypeAdapter[Any]] = {m: TypeAdapter(m) for m in _KNOWN.values()}
_OTHER = TypeAdapter(OtherEvolutionEvent)


def normalise_event_name(name: str) -> str:
    """`MESSAGES_UPSERT` / `messages-upsert` / `messages.upsert` → `messages.upsert`."""
    return name.strip().lower().replace("_", ".").replace("-", ".")


def parse_evolution_webhook(raw: Any) -> EvolutionEvent:
    """Parse one Evolution webhook body; raises PayloadError with the failing field path."""
    if not isinstance(raw, dict):
        return validate_payload(_OTHER, raw, source="evolution")
    event = raw.get("event")
    if not isinstance(event, str) or not event:
        return validate_payload(_OTHER, raw, source="evolution")
    model = _KNOWN.get(normalise_event_name(event))
    if model is None:
        return validate_payload(_OTHER, raw, source="evolution")
    parsed: EvolutionEvent = validate_payload(
        _ADAPTERS[model], {**raw, "event": normalise_event_name(event)}, source="evolution"
    )
    return parsed
