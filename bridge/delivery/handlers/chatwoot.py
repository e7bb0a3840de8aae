"""Chatwoot calls: open (or reuse) the department conversation, create and mark messages.

Each handler is idempotent against Chatwoot itself, because a crash after a successful call
re-runs it: contacts and conversations are looked up before they are created, and a message
retried after an unknown outcome is first searched for by its `source_id`.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aiohttp import web

from bridge.clients.chatwoot import CwUpload
from bridge.delivery.outbox import Delivered, OutboxRoute
from bridge.errors import PermanentDeliveryError
from bridge.flows import effects
from bridge.keys import UPSTREAMS
from bridge.state.records import OutboxItem

REUSABLE_STATUSES = {"open", "pending", "snoozed"}


def chatwoot_routes(app: web.Application) -> dict[str, OutboxRoute]:
    async def ensure_conversation(item: OutboxItem) -> Delivered:
        p: dict[str, Any] = item.payload
        chatwoot = app[UPSTREAMS].chatwoot
        inbox_id = int(p["inbox_id"])
        found = await chatwoot.create_contact(
            inbox_id,
            name=p["name"],
            identifier=p["identifier"],
            phone_number=p.get("phone"),
            source_id=p["source_id"],
        )
        contact = found.contact
        # A contact this call created is in the inbox already and has no conversations: the
        # lookups below are only for one that existed (or a retry after an unknown outcome).
        if not found.in_inbox:
            try:
                await chatwoot.create_contact_inbox(contact.id, inbox_id, p["source_id"])
            except PermanentDeliveryError as exc:
                if exc.status != 422:  # 422: the contact is already in this inbox
                    raise
        conversations = (
            [] if found.created else await chatwoot.list_contact_conversations(contact.id)
        )
        reusable = [
            c for c in conversations if c.inbox_id == inbox_id and c.status in REUSABLE_STATUSES
        ]
        labels: set[str] = set()  # a new conversation has none
        if reusable:
            conversation = max(reusable, key=lambda c: c.cw_conversation_id)
            if conversation.status != "open":
                await chatwoot.toggle_status(conversation.cw_conversation_id, "open")
            if p.get("team_id"):
                await chatwoot.assign_team(conversation.cw_conversation_id, int(p["team_id"]))
            labels = set(await chatwoot.list_labels(conversation.cw_conversation_id))
        else:
            conversation = await chatwoot.create_conversation(
                inbox_id=inbox_id,
                contact_id=contact.id,
                source_id=p["source_id"],
                status="open",
                team_id=int(p["team_id"]) if p.get("team_id") else None,
            )
        conversation_id = conversation.cw_conversation_id
        wanted = set(p.get("labels", []))
        if not wanted <= labels:
            await chatwoot.set_labels(conversation_id, sorted(labels | wanted))
        return Delivered(
            {
                "cw_contact_id": contact.id,
                "cw_conversation_id": conversation_id,
                "cw_inbox_id": inbox_id,
            }
        )

    async def create_message(item: OutboxItem) -> Delivered:
        p: dict[str, Any] = item.payload
        chatwoot = app[UPSTREAMS].chatwoot
        conversation_id = int(p["conversation_id"])
        if item.attempts > 1:
            # An earlier attempt may have succeeded before the crash or timeout.
            for message in await chatwoot.list_messages(conversation_id):
                if message.source_id == p["source_id"]:
                    return Delivered(
                        {"cw_message_id": message.id}, feedback=bool(p.get("wa_message_id"))
                    )
        media = p.get("media")
        if media:
            upload, is_voice = await _fetch_media(app, media)
            created = await chatwoot.create_message_with_attachments(
                conversation_id,
                [upload],
                content=p["content"],
                message_type=p["message_type"],
                source_id=p["source_id"],
                is_voice_message=is_voice,
            )
        else:
            created = await chatwoot.create_message(
                conversation_id,
                p["content"],
                message_type=p["message_type"],
                private=bool(p.get("private")),
                source_id=p["source_id"],
            )
        # Only a relayed WhatsApp message needs its Chatwoot id back (the message link).
        return Delivered({"cw_message_id": created.id}, feedback=bool(p.get("wa_message_id")))

    async def update_message_status(item: OutboxItem) -> Delivered:
        p = item.payload
        await app[UPSTREAMS].chatwoot.update_message_status(
            int(p["conversation_id"]),
            int(p["message_id"]),
            p["status"],
            external_error=p.get("external_error"),
        )
        return Delivered()

    return {
        effects.ENSURE_CONVERSATION: OutboxRoute(ensure_conversation, feedback=True),
        effects.CREATE_MESSAGE: OutboxRoute(
            create_message, feedback=True, inline_feedback=True, timeout_s=60.0
        ),
        effects.UPDATE_MESSAGE_STATUS: OutboxRoute(update_message_status),
    }


async def _fetch_media(app: web.Application, media: dict[str, Any]) -> tuple[CwUpload, bool]:
    """The WhatsApp media bytes, fetched from Evolution by message id (never from the webhook)."""
    fetched = await app[UPSTREAMS].evolution.get_base64_from_media_message(
        media["instance"], media["wa_message_id"]
    )
    try:
        data = base64.b64decode(fetched.base64, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise PermanentDeliveryError(f"evolution media is not base64: {exc}") from None
    mimetype = fetched.mimetype or media.get("mimetype") or "application/octet-stream"
    file_name = fetched.file_name or media.get("file_name") or _default_name(mimetype)
    return CwUpload(file_name=file_name, content_type=mimetype, data=data), bool(
        media.get("is_voice_note")
    )


def _default_name(mimetype: str) -> str:
    kind, _, subtype = mimetype.partition("/")
    extension = subtype.split(";")[0].strip() or "bin"
    return f"{kind or 'file'}.{extension}"
