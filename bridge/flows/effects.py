"""The outbound calls flows can record, with their deterministic dedupe keys.

A replay of the same inbound event records the same keys, so nothing is sent twice. Source ids
mark every Chatwoot message the bridge creates, so their webhooks are recognised as its own:
`WAID:<whatsapp id>` for relayed WhatsApp messages, `bridge:<key>` for everything else.
"""

from __future__ import annotations

from typing import Any, Literal

from bridge.flows.context import FlowContext
from bridge.state.records import Contact

SEND_TEXT = "evolution.send_text"
SEND_MEDIA = "evolution.send_media"
SEND_AUDIO = "evolution.send_audio"
SEND_CHOICES = "evolution.send_choices"
START_CHAT = "typebot.start_chat"
CONTINUE_CHAT = "typebot.continue_chat"
ENSURE_CONVERSATION = "chatwoot.ensure_conversation"
CREATE_MESSAGE = "chatwoot.create_message"
UPDATE_MESSAGE_STATUS = "chatwoot.update_message_status"

BRIDGE_SOURCE_PREFIX = "bridge:"
WHATSAPP_SOURCE_PREFIX = "WAID:"


def is_bridge_source_id(source_id: str | None) -> bool:
    return source_id is not None and source_id.startswith(
        (BRIDGE_SOURCE_PREFIX, WHATSAPP_SOURCE_PREFIX)
    )


async def send_whatsapp_text(
    ctx: FlowContext, contact: Contact, text: str, key: str, link: dict[str, Any] | None = None
) -> bool:
    """`link` ({cw_message_id, cw_conversation_id}) ties an agent reply to what is sent."""
    payload = {"instance": contact.instance, "number": contact.wa_jid, "text": text, **(link or {})}
    return await ctx.enqueue(SEND_TEXT, f"{SEND_TEXT}:{key}", payload, contact.id)


async def send_whatsapp_media(
    ctx: FlowContext,
    contact: Contact,
    *,
    kind: str,
    url: str,
    key: str,
    caption: str | None = None,
    file_name: str | None = None,
    mimetype: str | None = None,
    link: dict[str, Any] | None = None,
) -> bool:
    base = {"instance": contact.instance, "number": contact.wa_jid, **(link or {})}
    if kind == "audio":
        return await ctx.enqueue(
            SEND_AUDIO, f"{SEND_AUDIO}:{key}", {**base, "audio": url}, contact.id
        )
    payload = {
        **base,
        "mediatype": kind,
        "media": url,
        "caption": caption,
        "file_name": file_name,
        "mimetype": mimetype,
    }
    return await ctx.enqueue(SEND_MEDIA, f"{SEND_MEDIA}:{key}", payload, contact.id)


async def create_chatwoot_message(
    ctx: FlowContext,
    contact: Contact,
    *,
    conversation_id: int,
    content: str,
    message_type: Literal["incoming", "outgoing"],
    source_id: str,
    key: str,
    media: dict[str, Any] | None = None,
    private: bool = False,
    wa_message_id: str | None = None,
) -> bool:
    payload: dict[str, Any] = {
        "conversation_id": conversation_id,
        "content": content,
        "message_type": message_type,
        "source_id": source_id,
        "private": private,
        "media": media,
        "wa_message_id": wa_message_id,
    }
    return await ctx.enqueue(CREATE_MESSAGE, f"{CREATE_MESSAGE}:{key}", payload, contact.id)
