"""What a customer said in one WhatsApp message: text, button/list reply ids, captions, media.

Order follows research/evolution-api.md §g: plain text, then interactive replies (id and visible
title), then captions. Reactions, stickers, protocol messages and receipts are not turns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from bridge.schemas.evolution_message import MediaMessage, WaMessage

TextKind = Literal[
    "text", "reply", "caption", "media", "location", "contact", "non_turn", "unsupported"
]
MediaKind = Literal["image", "audio", "video", "document", "sticker"]


@dataclass(frozen=True, slots=True)
class WhatsAppText:
    """`text` is what to show/forward; `reply_id` is set for button/list/template replies."""

    kind: TextKind
    text: str
    reply_id: str | None = None

    @property
    def is_turn(self) -> bool:
        """False for reactions, stickers, edits/revokes and unknown content: nobody reacts."""
        return self.kind not in ("non_turn", "unsupported")


@dataclass(frozen=True, slots=True)
class WhatsAppMedia:
    kind: MediaKind
    mimetype: str | None
    file_name: str | None
    caption: str | None
    is_voice_note: bool = False


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _interactive_reply_id(params_json: str | None) -> str | None:
    if not params_json:
        return None
    try:
        params = json.loads(params_json)
    except ValueError:
        return None
    reply_id = params.get("id") if isinstance(params, dict) else None
    return reply_id if isinstance(reply_id, str) and reply_id else None


def _reply(message: WaMessage) -> WhatsAppText | None:
    if (lst := message.list_response_message) is not None:
        row = lst.single_select_reply.selected_row_id if lst.single_select_reply else None
        title = _clean(lst.title) or _clean(lst.description) or _clean(row)
        return WhatsAppText("reply", title, _clean(row)) if title else None
    if (btn := message.buttons_response_message) is not None:
        title = _clean(btn.selected_display_text) or _clean(btn.selected_button_id)
        return WhatsAppText("reply", title, _clean(btn.selected_button_id)) if title else None
    if (tpl := message.template_button_reply_message) is not None:
        title = _clean(tpl.selected_display_text) or _clean(tpl.selected_id)
        return WhatsAppText("reply", title, _clean(tpl.selected_id)) if title else None
    if (inter := message.interactive_response_message) is not None:
        flow = inter.native_flow_response_message
        reply_id = _interactive_reply_id(flow.params_json if flow else None)
        title = _clean(inter.body.text if inter.body else None) or reply_id
        return WhatsAppText("reply", title, reply_id) if title else None
    return None


def _media_message(message: WaMessage) -> tuple[MediaKind, MediaMessage] | None:
    candidates: tuple[tuple[MediaKind, MediaMessage | None], ...] = (
        ("image", message.image_message),
        ("video", message.video_message),
        ("video", message.ptv_message),
        ("audio", message.audio_message),
        ("document", message.document_message),
        ("sticker", message.sticker_message),
    )
    return next(((kind, media) for kind, media in candidates if media is not None), None)


def extract_text(message: WaMessage | None) -> WhatsAppText | None:
    """The customer's words in `message`, or None when there is no content at all."""
    if message is None:
        return None
    inner = message.unwrapped()
    if inner.reaction_message is not None or inner.protocol_message is not None:
        return WhatsAppText("non_turn", "")
    if inner.sticker_message is not None:
        return WhatsAppText("non_turn", "")
    if (text := _clean(inner.conversation)) is not None:
        return WhatsAppText("text", text)
    if inner.extended_text_message is not None and (
        text := _clean(inner.extended_text_message.text)
    ):
        return WhatsAppText("text", text)
    if (reply := _reply(inner)) is not None:
        return reply
    media = _media_message(inner)
    if media is not None:
        caption = _clean(media[1].caption)
        # Captionless media is still a turn: the text is empty, media_kind() says what it is.
        return WhatsAppText("caption", caption) if caption else WhatsAppText("media", "")
    if (loc := inner.location_message or inner.live_location_message) is not None:
        label = " ".join(p for p in (_clean(loc.name), _clean(loc.address)) if p)
        coords = f"{loc.degrees_latitude},{loc.degrees_longitude}"
        return WhatsAppText("location", f"{label} ({coords})" if label else coords)
    if inner.contact_message is not None:
        return WhatsAppText("contact", _clean(inner.contact_message.display_name) or "contact")
    if inner.contacts_array_message is not None:
        names = [_clean(c.display_name) for c in inner.contacts_array_message.contacts]
        return WhatsAppText("contact", ", ".join(n for n in names if n) or "contacts")
    return WhatsAppText("unsupported", "")


def media_kind(message: WaMessage | None) -> WhatsAppMedia | None:
    """Media attached to `message` (after unwrapping), or None for non-media messages."""
    if message is None:
        return None
    found = _media_message(message.unwrapped())
    if found is None:
        return None
    kind, media = found
    return WhatsAppMedia(
        kind=kind,
        mimetype=media.mimetype,
        file_name=_clean(media.file_name) or _clean(media.title),
        caption=_clean(media.caption),
        is_voice_note=kind == "audio" and bool(media.ptt),
    )
