"""WhatsApp message content as Evolution forwards it (`data.message`): the known sub-messages only.

Binary fields (jpegThumbnail, mediaKey, fileSha256, …) changed encoding between Evolution versions
(base64 strings vs `{"0": …}` index objects) and are never read, so they are simply not declared.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from bridge.schemas.base import LongInt, UpstreamModel


class WaModel(UpstreamModel):
    """Baileys/Evolution objects use camelCase keys."""

    model_config = ConfigDict(
        extra="ignore", populate_by_name=True, frozen=True, alias_generator=to_camel
    )


class ContextInfo(WaModel):
    """Quote, mentions and ads info; `quoted_message` is the quoted content."""

    stanza_id: str | None = None
    participant: str | None = None
    quoted_message: WaMessage | None = None
    mentioned_jid: list[str] = Field(default_factory=list)


class ExtendedTextMessage(WaModel):
    text: str | None = None
    context_info: ContextInfo | None = None


class ButtonsResponseMessage(WaModel):
    selected_button_id: str | None = None
    selected_display_text: str | None = None


class SingleSelectReply(WaModel):
    selected_row_id: str | None = None


class ListResponseMessage(WaModel):
    title: str | None = None
    description: str | None = None
    single_select_reply: SingleSelectReply | None = None


class TemplateButtonReplyMessage(WaModel):
    selected_id: str | None = None
    selected_display_text: str | None = None
    selected_index: int | None = None


class InteractiveBody(WaModel):
    text: str | None = None


class NativeFlowResponse(WaModel):
    name: str | None = None
    params_json: str | None = None


class InteractiveResponseMessage(WaModel):
    body: InteractiveBody | None = None
    native_flow_response_message: NativeFlowResponse | None = None


class MediaMessage(WaModel):
    """Image, audio, video, document and sticker share these readable fields."""

    url: str | None = None
    mimetype: str | None = None
    caption: str | None = None
    file_name: str | None = None
    title: str | None = None
    seconds: int | None = None
    ptt: bool | None = None
    height: int | None = None
    width: int | None = None
    file_length: LongInt | None = None
    context_info: ContextInfo | None = None


class LocationMessage(WaModel):
    degrees_latitude: float | None = None
    degrees_longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ContactMessage(WaModel):
    display_name: str | None = None
    vcard: str | None = None


class ContactsArrayMessage(WaModel):
    display_name: str | None = None
    contacts: list[ContactMessage] = Field(default_factory=list)


class ReactionKey(WaModel):
    remote_jid: str | None = None
    from_me: bool | None = None
    id: str | None = None


class ReactionMessage(WaModel):
    key: ReactionKey | None = None
    text: str | None = None


class ProtocolMessage(WaModel):
    """Edits and revokes; `type` is an enum name (≤2.2) or number (2.3)."""

    key: ReactionKey | None = None
    type: str | int | None = None
    edited_message: WaMessage | None = None


class FutureProofMessage(WaModel):
    """Wrapper (ephemeral, view-once, document-with-caption): the content is one level down."""

    message: WaMessage | None = None


class WaMessage(WaModel):
    """`data.message`: at most one content key is set (plus metadata Evolution adds)."""

    conversation: str | None = None
    extended_text_message: ExtendedTextMessage | None = None
    buttons_response_message: ButtonsResponseMessage | None = None
    list_response_message: ListResponseMessage | None = None
    template_button_reply_message: TemplateButtonReplyMessage | None = None
    interactive_response_message: InteractiveResponseMessage | None = None
    image_message: MediaMessage | None = None
    audio_message: MediaMessage | None = None
    video_message: MediaMessage | None = None
    ptv_message: MediaMessage | None = None
    document_message: MediaMessage | None = None
    sticker_message: MediaMessage | None = None
    location_message: LocationMessage | None = None
    live_location_message: LocationMessage | None = None
    contact_message: ContactMessage | None = None
    contacts_array_message: ContactsArrayMessage | None = None
    reaction_message: ReactionMessage | None = None
    protocol_message: ProtocolMessage | None = None
    ephemeral_message: FutureProofMessage | None = None
    view_once_message: FutureProofMessage | None = None
    view_once_message_v2: FutureProofMessage | None = Field(None, alias="viewOnceMessageV2")
    view_once_message_v2_extension: FutureProofMessage | None = Field(
        None, alias="viewOnceMessageV2Extension"
    )
    document_with_caption_message: FutureProofMessage | None = None
    edited_message: FutureProofMessage | None = None
    # Present only with webhookBase64 on; the bridge fetches media itself, so it is never required.
    base64: str | None = None

    def unwrapped(self) -> WaMessage:
        """Content under ephemeral/view-once/document-with-caption wrappers (nested ones too)."""
        current = self
        for _ in range(5):  # wrappers nest at most a couple of levels; bound the walk anyway
            wrapper = (
                current.ephemeral_message
                or current.view_once_message
                or current.view_once_message_v2
                or current.view_once_message_v2_extension
                or current.document_with_caption_message
            )
            if wrapper is None or wrapper.message is None:
                return current
            current = wrapper.message
        return current


ContextInfo.model_rebuild()
ProtocolMessage.model_rebuild()
FutureProofMessage.model_rebuild()
