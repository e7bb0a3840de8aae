"""Builders of Evolution API 2.3.7 message payloads (send responses and `messages.upsert` data)."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

WA_SUFFIX = "@s.whatsapp.net"
MEDIA_TYPES = {
    "image": ("imageMessage", "image/jpeg"),
    "video": ("videoMessage", "video/mp4"),
    "document": ("documentMessage", "application/pdf"),
    "audio": ("audioMessage", "audio/ogg; codecs=opus"),
}


def wa_jid(number: str) -> str:
    """What `createJid` makes of a `number` field: JIDs kept, phone digits → `@s.whatsapp.net`."""
    if "@" in number:
        return number
    return re.sub(r"\D", "", number) + WA_SUFFIX


def new_web_message_id() -> str:
    """API sends get web-style ids (`3EB0` + 18 hex = 22 chars)."""
    return "3EB0" + secrets.token_hex(9).upper()


def new_phone_message_id() -> str:
    """Android-style ids: 32 hex chars."""
    return "AC" + secrets.token_hex(15).upper()


def _long(value: int, *, unsigned: bool) -> dict[str, Any]:
    return {"low": value, "high": 0, "unsigned": unsigned}


def _context_info() -> dict[str, Any]:
    return {
        "mentionedJid": [],
        "groupMentions": [],
        "ephemeralSettingTimestamp": _long(int(time.time()) - 86400, unsigned=False),
        "disappearingMode": {"initiator": 0},
    }


def media_content(
    kind: str, *, mimetype: str | None, caption: str | None, file_name: str | None, size: int
) -> dict[str, Any]:
    """A media proto object with 2.3.x byte/Long encodings (values are opaque fakes)."""
    _, default_mime = MEDIA_TYPES[kind]
    now = int(time.time())
    content: dict[str, Any] = {
        "url": f"https://mmg.whatsapp.net/o1/v/t24/f2/m234/SIM-{secrets.token_hex(6)}?mms3=true",
        "mimetype": mimetype or default_mime,
        "fileSha256": {"0": 6, "1": 196, "2": 205, "3": 243},
        "fileLength": _long(size, unsigned=True),
        "mediaKey": {"0": 146, "1": 129, "2": 170, "3": 24},
        "fileEncSha256": {"0": 84, "1": 5, "2": 171, "3": 112},
        "directPath": "/o1/v/t24/f2/m234/SIM-PATH",
        "mediaKeyTimestamp": _long(now, unsigned=False),
    }
    if caption:
        content["caption"] = caption
    if kind == "image":
        content.update({"height": 1600, "width": 1200, "jpegThumbnail": {"0": 255, "1": 216}})
    elif kind == "audio":
        content.update({"seconds": 3, "ptt": True, "waveform": {"0": 0, "1": 12}})
    elif kind == "video":
        content.update({"seconds": 5, "gifPlayback": False, "height": 640, "width": 360})
    elif kind == "document":
        content.update({"fileName": file_name or "document", "title": file_name or "document"})
    return content


def sent_message(
    *, remote_jid: str, message: dict[str, Any], message_type: str, instance_id: str
) -> dict[str, Any]:
    """Response body of a send route (same as `send.message` data)."""
    return {
        "key": {"remoteJid": remote_jid, "fromMe": True, "id": new_web_message_id()},
        "pushName": "Você",
        "status": "PENDING",
        "message": message,
        "contextInfo": _context_info(),
        "messageType": message_type,
        "messageTimestamp": int(time.time()),
        "instanceId": instance_id,
        "source": "web",
    }


def inbound_key(
    *, from_phone: str | None, from_lid: str | None, from_me: bool, message_id: str
) -> dict[str, Any]:
    """1:1 key as 2.3.7 webhooks it (LID-addressed with phone known → remoteJid rewritten to PN)."""
    phone_jid = wa_jid(from_phone) if from_phone else None
    lid_jid = (from_lid if from_lid.endswith("@lid") else f"{from_lid}@lid") if from_lid else None
    key: dict[str, Any] = {"fromMe": from_me, "id": message_id, "participant": ""}
    if phone_jid:
        key["remoteJid"] = phone_jid
        key["remoteJidAlt"] = phone_jid
    else:
        key["remoteJid"] = lid_jid
    key["addressingMode"] = "lid"
    return key


def inbound_data(
    *,
    key: dict[str, Any],
    push_name: str,
    message: dict[str, Any],
    message_type: str,
    instance_id: str,
    context_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": key,
        "pushName": push_name or ("Você" if key["fromMe"] else ""),
        "status": "SERVER_ACK" if key["fromMe"] else "DELIVERY_ACK",
        "message": message,
        "messageType": message_type,
        "messageTimestamp": int(time.time()),
        "instanceId": instance_id,
        "source": "android",
    }
    if context_info is not None:
        data["contextInfo"] = context_info
    return data


def text_message(text: str) -> dict[str, Any]:
    return {
        "conversation": text,
        "messageContextInfo": {
            "deviceListMetadata": {
                "senderKeyIndexes": [],
                "recipientKeyIndexes": [],
                "senderTimestamp": _long(int(time.time()), unsigned=True),
            },
            "deviceListMetadataVersion": 2,
        },
    }


def list_reply_message(title: str, row_id: str) -> dict[str, Any]:
    return {
        "messageContextInfo": {"deviceListMetadataVersion": 2},
        "listResponseMessage": {
            "title": title,
            "listType": "SINGLE_SELECT",
            "singleSelectReply": {"selectedRowId": row_id},
            "description": title,
        },
    }


def buttons_reply_message(display_text: str, button_id: str) -> dict[str, Any]:
    return {
        "buttonsResponseMessage": {
            "selectedButtonId": button_id,
            "selectedDisplayText": display_text,
            "type": "DISPLAY_TEXT",
        }
    }
