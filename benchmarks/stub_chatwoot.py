"""A minimal, fast Chatwoot stub: the API calls the bridge makes, and the webhooks it answers.

Keeps only what the benchmark verifies: each conversation's messages, in arrival order, with the
arrival time. Every message created through the API is echoed as `message_created` (as an API
inbox does), so the bridge also pays for recognising its own messages.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from benchmarks import payloads
from benchmarks.emitter import WebhookEmitter
from benchmarks.watch import Watch

PREFIX = "/api/v1/accounts/{account_id}"
CONV = PREFIX + "/conversations/{conversation_id:\\d+}"


@dataclass
class CwMessage:
    id: int
    content: str
    message_type: int  # 0 incoming, 1 outgoing
    source_id: str | None
    arrived_at: float

    def as_api(self, conversation_id: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "content": self.content,
            "message_type": self.message_type,
            "private": False,
            "source_id": self.source_id,
            "conversation_id": conversation_id,
        }


@dataclass
class CwConversation:
    id: int
    inbox_id: int
    contact_id: int
    source_id: str
    status: str = "open"
    labels: list[str] = field(default_factory=list)
    messages: list[CwMessage] = field(default_factory=list)

    def as_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "inbox_id": self.inbox_id,
            "contact_id": self.contact_id,
            "source_id": self.source_id,
            "status": self.status,
            "labels": self.labels,
        }


@dataclass
class ChatwootStub:
    webhook_secret: str
    emitter: WebhookEmitter
    watch: Watch
    echo_messages: bool = True
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    contact_by_identifier: dict[str, int] = field(default_factory=dict)
    conversations: dict[int, CwConversation] = field(default_factory=dict)
    by_source: dict[str, list[int]] = field(default_factory=dict)  # JID → conversation ids
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def conversation_of(self, source_id: str) -> CwConversation | None:
        ids = self.by_source.get(source_id)
        return self.conversations[ids[-1]] if ids else None

    def _emit(self, body: dict[str, Any]) -> None:
        self.emitter.emit(payloads.chatwoot_request(body, self.webhook_secret, uuid.uuid4().hex))

    def _add_message(
        self, conv: CwConversation, content: str, message_type: int, source_id: str | None
    ) -> CwMessage:
        message = CwMessage(next(self._ids), content, message_type, source_id, time.perf_counter())
        conv.messages.append(message)
        self.watch.notify(conv.source_id)
        return message

    def agent_replies(self, conv: CwConversation, content: str) -> CwMessage:
        """An agent typed in the dashboard: the message and its webhook."""
        message = self._add_message(conv, content, 1, None)
        self._emit(payloads.chatwoot_message_created(conv.as_row(), message.as_api(conv.id)))
        return message

    def set_status(self, conv: CwConversation, status: str) -> None:
        conv.status = status
        self._emit(payloads.chatwoot_status_changed(conv.as_row()))

    def _conv(self, request: web.Request) -> CwConversation:
        conv = self.conversations.get(int(request.match_info["conversation_id"]))
        if conv is None:
            raise web.HTTPNotFound(text='{"error":"Resource could not be found"}')
        return conv

    # -- API handlers ---------------------------------------------------------------------

    async def create_contact(self, request: web.Request) -> web.Response:
        body = await request.json()
        identifier = body["identifier"]
        if identifier in self.contact_by_identifier:
            return web.json_response({"message": "Identifier has already been taken"}, status=422)
        contact = {
            "id": next(self._ids),
            "name": body.get("name"),
            "identifier": identifier,
            "phone_number": body.get("phone_number"),
        }
        self.contacts[contact["id"]] = contact
        self.contact_by_identifier[identifier] = contact["id"]
        # As Chatwoot: a contact created with inbox_id gets its contact_inbox in the same call.
        contact_inbox = {"source_id": body.get("source_id"), "inbox": {"id": body.get("inbox_id")}}
        return web.json_response({"payload": {"contact": contact, "contact_inbox": contact_inbox}})

    async def filter_contacts(self, request: web.Request) -> web.Response:
        body = await request.json()
        values = {str(v) for q in body.get("payload", []) for v in q.get("values", [])}
        found = [self.contacts[i] for v, i in self.contact_by_identifier.items() if v in values]
        return web.json_response({"payload": found})

    async def create_contact_inbox(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {"source_id": body["source_id"], "inbox": {"id": body["inbox_id"]}}
        )

    async def contact_conversations(self, request: web.Request) -> web.Response:
        contact = self.contacts.get(int(request.match_info["contact_id"]))
        ids = self.by_source.get(contact["identifier"], []) if contact else []
        rows = [payloads.chatwoot_conversation(self.conversations[i].as_row()) for i in ids]
        return web.json_response({"payload": rows})

    async def create_conversation(self, request: web.Request) -> web.Response:
        body = await request.json()
        conv = CwConversation(
            id=next(self._ids),
            inbox_id=int(body["inbox_id"]),
            contact_id=int(body["contact_id"]),
            source_id=body["source_id"],
            status=body.get("status", "open"),
        )
        self.conversations[conv.id] = conv
        self.by_source.setdefault(conv.source_id, []).append(conv.id)
        self.watch.notify(conv.source_id)
        return web.json_response(payloads.chatwoot_conversation(conv.as_row()))

    async def toggle_status(self, request: web.Request) -> web.Response:
        conv = self._conv(request)
        conv.status = (await request.json())["status"]
        return web.json_response(
            {
                "payload": {
                    "success": True,
                    "conversation_id": conv.id,
                    "current_status": conv.status,
                }
            }
        )

    async def assignments(self, request: web.Request) -> web.Response:
        self._conv(request)
        return web.json_response({})

    async def labels(self, request: web.Request) -> web.Response:
        conv = self._conv(request)
        if request.method == "POST":
            conv.labels = list((await request.json())["labels"])
        return web.json_response({"payload": conv.labels})

    async def create_message(self, request: web.Request) -> web.Response:
        conv = self._conv(request)
        body = await request.json()
        message_type = 0 if body.get("message_type") == "incoming" else 1
        message = self._add_message(conv, body["content"], message_type, body.get("source_id"))
        if self.echo_messages:
            self._emit(payloads.chatwoot_message_created(conv.as_row(), message.as_api(conv.id)))
        return web.json_response(message.as_api(conv.id))

    async def list_messages(self, request: web.Request) -> web.Response:
        conv = self._conv(request)
        return web.json_response({"payload": [m.as_api(conv.id) for m in conv.messages]})

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post(PREFIX + "/contacts", self.create_contact)
        r.add_post(PREFIX + "/contacts/filter", self.filter_contacts)
        r.add_post(
            PREFIX + "/contacts/{contact_id:\\d+}/contact_inboxes", self.create_contact_inbox
        )
        r.add_get(PREFIX + "/contacts/{contact_id:\\d+}/conversations", self.contact_conversations)
        r.add_post(PREFIX + "/conversations", self.create_conversation)
        r.add_post(CONV + "/toggle_status", self.toggle_status)
        r.add_post(CONV + "/assignments", self.assignments)
        r.add_get(CONV + "/labels", self.labels)
        r.add_post(CONV + "/labels", self.labels)
        r.add_post(CONV + "/messages", self.create_message)
        r.add_get(CONV + "/messages", self.list_messages)
