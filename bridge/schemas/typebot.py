"""Typebot chat API responses (startChat/continueChat) and the handoff callback of DESIGN.md §6."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    StrictStr,
    StringConstraints,
    Tag,
    TypeAdapter,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bridge.schemas.base import UpstreamModel, validate_payload


class TbModel(UpstreamModel):
    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, alias_generator=to_camel
    )


class TbTextContent(TbModel):
    """`richText` (Plate/Slate nodes, kept raw) or `markdown`, per `textBubbleContentFormat`."""

    type: Literal["richText", "markdown"]
    rich_text: list[dict[str, Any]] | None = None
    markdown: str | None = None


class TbTextBubble(TbModel):
    id: str
    type: Literal["text"]
    content: TbTextContent


class TbMediaContent(TbModel):
    url: str | None = None


class TbMediaBubble(TbModel):
    """image / video / audio / embed bubbles: only the URL matters for WhatsApp."""

    id: str
    type: Literal["image", "video", "audio", "embed"]
    content: TbMediaContent = Field(default_factory=TbMediaContent)


class TbOtherBubble(TbModel):
    """Bubble types the bridge cannot render (custom-embed, future types)."""

    id: str
    type: str
    content: dict[str, Any] = Field(default_factory=dict)


def _bubble_tag(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind == "text":
        return "bubble:text"
    if kind in ("image", "video", "audio", "embed"):
        return "bubble:media"
    return "bubble:other"


TbBubble = Annotated[
    Annotated[TbTextBubble, Tag("bubble:text")]
    | Annotated[TbMediaBubble, Tag("bubble:media")]
    | Annotated[TbOtherBubble, Tag("bubble:other")],
    Discriminator(_bubble_tag),
]


class TbChoiceItem(TbModel):
    id: str
    content: str | None = None
    value: str | None = None
    outgoing_edge_id: str | None = None


class TbInput(TbModel):
    """The input block the bot waits on: `choice input`, `text input`, `number input`, …"""

    id: str
    type: str
    items: list[TbChoiceItem] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    prefilled_value: str | None = None

    @property
    def is_choice(self) -> bool:
        return self.type == "choice input"

    @property
    def is_multiple_choice(self) -> bool:
        return self.options.get("isMultipleChoice") is True


class TbClientSideAction(TbModel):
    """Kept as type + raw: a server-side bridge executes none of them (wait at most)."""

    type: str
    last_bubble_block_id: str | None = None
    expects_dedicated_reply: bool = False
    raw: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _keep_raw(cls, value: Any) -> Any:
        if isinstance(value, dict) and "raw" not in value:
            return {**value, "raw": dict(value)}
        return value


class TbChatResponse(TbModel):
    """Fields common to startChat and continueChat responses."""

    messages: list[TbBubble] = Field(default_factory=list)
    input: TbInput | None = None
    client_side_actions: list[TbClientSideAction] = Field(default_factory=list)
    progress: float | None = None
    last_message_new_format: str | None = None

    @property
    def flow_ended(self) -> bool:
        """No input and nothing awaiting a reply: the live session is deleted (next call 404)."""
        return self.input is None and not any(
            a.expects_dedicated_reply for a in self.client_side_actions
        )


class TbStartChatResponse(TbChatResponse):
    session_id: str = Field(min_length=1)
    result_id: str | None = None
    typebot: dict[str, Any] | None = None


class TbContinueChatResponse(TbChatResponse):
    pass


# An unresolved Typebot variable renders as "", so blank values must be refused, not stored.
_NonBlank = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]


class TypebotHandoff(UpstreamModel):
    """Body the flow's HTTP Request block posts to `/webhooks/typebot` (DESIGN.md §6)."""

    bridge_contact: _NonBlank
    department: _NonBlank
    name: StrictStr = ""


_START = TypeAdapter(TbStartChatResponse)
_CONTINUE = TypeAdapter(TbContinueChatResponse)
_HANDOFF = TypeAdapter(TypebotHandoff)


def parse_start_chat(raw: Any) -> TbStartChatResponse:
    parsed: TbStartChatResponse = validate_payload(_START, raw, source="typebot")
    return parsed


def parse_continue_chat(raw: Any) -> TbContinueChatResponse:
    parsed: TbContinueChatResponse = validate_payload(_CONTINUE, raw, source="typebot")
    return parsed


def parse_typebot_handoff(raw: Any) -> TypebotHandoff:
    """The single entry for `/webhooks/typebot` bodies; PayloadError carries the field path."""
    parsed: TypebotHandoff = validate_payload(_HANDOFF, raw, source="typebot")
    return parsed
