"""Chatwoot application API client: contacts, conversations, labels and messages for the flows."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import TypeAdapter

from bridge.clients.chatwoot_setup import ChatwootSetupApi, unwrap_payload
from bridge.clients.http import UpstreamResponse
from bridge.errors import PermanentDeliveryError
from bridge.schemas.chatwoot import CwConversation
from bridge.schemas.chatwoot_api import (
    CwContact,
    CwContactInboxResult,
    CwMessageResult,
    CwToggleStatusResult,
)

CwStatus = Literal["open", "pending", "resolved", "snoozed"]
CwMessageStatus = Literal["sent", "delivered", "read", "failed"]
_E164 = re.compile(r"\+[1-9]\d{1,14}")

_CONTACT = TypeAdapter(CwContact)
_CONTACTS = TypeAdapter(list[CwContact])
_CONVERSATION = TypeAdapter(CwConversation)
_CONVERSATIONS = TypeAdapter(list[CwConversation])
_MESSAGE = TypeAdapter(CwMessageResult)
_MESSAGES = TypeAdapter(list[CwMessageResult])
_LABELS = TypeAdapter(list[str])


@dataclass(frozen=True, slots=True)
class CwUpload:
    """One file for a multipart message (`attachments[]`)."""

    file_name: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CwContactFound:
    """`create_contact`'s answer: the contact, and what the call itself created."""

    contact: CwContact
    # This call created the contact: it has no conversations yet.
    created: bool
    # Chatwoot created the contact_inbox in the same transaction (contact created with inbox_id).
    in_inbox: bool


def _already_taken(response: UpstreamResponse) -> bool:
    return response.status_code == 422 and "taken" in response.text.lower()


class ChatwootClient(ChatwootSetupApi):
    """Conversation ids in URLs are display ids (what webhooks call `conversation.id`)."""

    def _conv(self, conversation_id: int) -> str:
        return f"{self._account}/conversations/{int(conversation_id)}"

    # --- contacts -----------------------------------------------------------------------
    async def search_contacts(self, query: str) -> list[CwContact]:
        """Substring search over name/email/phone/identifier (15 per page)."""
        path = f"{self._account}/contacts/search"
        response = await self._call("GET", path, params={"q": query, "page": 1})
        return self._http.parse(
            response, _CONTACTS, raw=unwrap_payload(self._http.json_body(response))
        )

    async def filter_contacts(self, attribute: str, value: str) -> list[CwContact]:
        """Exact match (`equal_to`) on identifier, phone_number, email or name."""
        body = {
            "payload": [
                {
                    "attribute_key": attribute,
                    "filter_operator": "equal_to",
                    "values": [value],
                    # The last condition's operator is null; leaving it out is equivalent and
                    # keeps the body within the swagger's `enum: [AND, OR]`.
                }
            ]
        }
        path = f"{self._account}/contacts/filter"
        response = await self._call("POST", path, json=body, params={"page": 1})
        return self._http.parse(
            response, _CONTACTS, raw=unwrap_payload(self._http.json_body(response))
        )

    async def create_contact(
        self,
        inbox_id: int,
        *,
        name: str,
        identifier: str,
        phone_number: str | None = None,
        source_id: str | None = None,
    ) -> CwContactFound:
        """Create with a contact_inbox in `inbox_id`; on 422 "already taken" adopt the existing.

        `identifier` (the WhatsApp JID) is the dedupe key; `phone_number` must be E.164.
        """
        if phone_number is not None and not _E164.fullmatch(phone_number):
            raise ValueError("phone_number must be E.164: '+' then 2-15 digits")
        body: dict[str, Any] = {"inbox_id": int(inbox_id), "name": name, "identifier": identifier}
        if phone_number:
            body["phone_number"] = phone_number
        if source_id:
            body["source_id"] = source_id
        path = f"{self._account}/contacts"
        response = await self._call("POST", path, json=body, raise_for_status=False)
        if response.is_success:
            payload = unwrap_payload(self._http.json_body(response))
            raw = payload.get("contact", payload) if isinstance(payload, dict) else payload
            contact = self._http.parse(response, _CONTACT, raw=raw)
            contact_inbox = payload.get("contact_inbox") if isinstance(payload, dict) else None
            in_inbox = (
                isinstance(contact_inbox, dict)
                and source_id is not None
                and contact_inbox.get("source_id") == source_id
            )
            return CwContactFound(contact, created=True, in_inbox=in_inbox)
        if not _already_taken(response):
            raise self._http.failure(response, f"POST {path}")
        # The 422 does not name the existing contact (chatwoot#15917): look it up exactly.
        for attribute, value in (("identifier", identifier), ("phone_number", phone_number)):
            if value:
                found = await self.filter_contacts(attribute, value)
                if found:
                    return CwContactFound(found[0], created=False, in_inbox=False)
        raise PermanentDeliveryError(
            f"chatwoot POST {path}: 422 already taken but no contact matches", status=422
        )

    async def create_contact_inbox(
        self, contact_id: int, inbox_id: int, source_id: str
    ) -> CwContactInboxResult:
        """`source_id` = the contact's JID; unique per inbox."""
        body = {"inbox_id": int(inbox_id), "source_id": source_id}
        path = f"{self._account}/contacts/{int(contact_id)}/contact_inboxes"
        response = await self._call("POST", path, json=body)
        return self._http.parse(response, TypeAdapter(CwContactInboxResult))

    # --- conversations ------------------------------------------------------------------
    async def list_conversations(
        self, *, inbox_id: int | None = None, status: CwStatus | Literal["all"] = "all"
    ) -> list[CwConversation]:
        params: dict[str, str | int] = {"status": status, "page": 1}
        if inbox_id is not None:
            params["inbox_id"] = int(inbox_id)
        response = await self._call("GET", f"{self._account}/conversations", params=params)
        body = self._http.json_body(response)
        data = body.get("data", body) if isinstance(body, dict) else body
        return self._http.parse(response, _CONVERSATIONS, raw=unwrap_payload(data))

    async def list_contact_conversations(self, contact_id: int) -> list[CwConversation]:
        """Latest 20 conversations of a contact, most recent activity first."""
        path = f"{self._account}/contacts/{int(contact_id)}/conversations"
        response = await self._call("GET", path)
        body = unwrap_payload(self._http.json_body(response))
        return self._http.parse(response, _CONVERSATIONS, raw=body)

    async def create_conversation(
        self,
        *,
        inbox_id: int,
        contact_id: int,
        source_id: str,
        status: CwStatus = "open",
        team_id: int | None = None,
        assignee_id: int | None = None,
        custom_attributes: Mapping[str, Any] | None = None,
        additional_attributes: Mapping[str, Any] | None = None,
    ) -> CwConversation:
        """An inbox with an agent bot forces `pending` whatever `status` says."""
        body: dict[str, Any] = {
            "inbox_id": int(inbox_id),
            "contact_id": int(contact_id),
            "source_id": source_id,
            "status": status,
        }
        if team_id is not None:
            body["team_id"] = int(team_id)
        if assignee_id is not None:
            body["assignee_id"] = int(assignee_id)
        if custom_attributes:
            body["custom_attributes"] = dict(custom_attributes)
        if additional_attributes:
            body["additional_attributes"] = dict(additional_attributes)
        response = await self._call("POST", f"{self._account}/conversations", json=body)
        return self._http.parse(response, _CONVERSATION)

    async def get_conversation(self, conversation_id: int) -> CwConversation:
        response = await self._call("GET", self._conv(conversation_id))
        return self._http.parse(response, _CONVERSATION)

    async def toggle_status(
        self, conversation_id: int, status: CwStatus, *, snoozed_until: int | None = None
    ) -> CwToggleStatusResult:
        body: dict[str, Any] = {"status": status}
        if snoozed_until is not None:
            body["snoozed_until"] = snoozed_until
        path = f"{self._conv(conversation_id)}/toggle_status"
        response = await self._call("POST", path, json=body)
        return self._http.parse(
            response,
            TypeAdapter(CwToggleStatusResult),
            raw=unwrap_payload(self._http.json_body(response)),
        )

    async def assign_team(self, conversation_id: int, team_id: int) -> None:
        body = {"team_id": int(team_id)}
        await self._call("POST", f"{self._conv(conversation_id)}/assignments", json=body)

    async def assign_agent(self, conversation_id: int, user_id: int) -> None:
        body = {"assignee_id": int(user_id)}
        await self._call("POST", f"{self._conv(conversation_id)}/assignments", json=body)

    async def list_labels(self, conversation_id: int) -> list[str]:
        response = await self._call("GET", f"{self._conv(conversation_id)}/labels")
        return self._http.parse(
            response, _LABELS, raw=unwrap_payload(self._http.json_body(response))
        )

    async def set_labels(self, conversation_id: int, labels: Sequence[str]) -> list[str]:
        """Replaces the conversation's whole label list (merge with list_labels first)."""
        body = {"labels": [label.lower() for label in labels]}
        path = f"{self._conv(conversation_id)}/labels"
        response = await self._call("POST", path, json=body)
        return self._http.parse(
            response, _LABELS, raw=unwrap_payload(self._http.json_body(response))
        )

    # --- messages -----------------------------------------------------------------------
    async def create_message(
        self,
        conversation_id: int,
        content: str,
        *,
        message_type: Literal["incoming", "outgoing"] = "outgoing",
        private: bool = False,
        source_id: str | None = None,
        content_attributes: Mapping[str, Any] | None = None,
    ) -> CwMessageResult:
        """`source_id` (e.g. `WAID:<wa id>`) is stored and echoed back in webhooks."""
        body: dict[str, Any] = {
            "content": content,
            "message_type": message_type,
            "private": private,
        }
        if source_id:
            body["source_id"] = source_id
        if content_attributes:
            body["content_attributes"] = dict(content_attributes)
        path = f"{self._conv(conversation_id)}/messages"
        response = await self._call("POST", path, json=body)
        return self._http.parse(response, _MESSAGE)

    async def list_messages(self, conversation_id: int) -> list[CwMessageResult]:
        """The latest messages of a conversation (`GET …/messages`, newest page)."""
        path = f"{self._conv(conversation_id)}/messages"
        response = await self._call("GET", path)
        return self._http.parse(
            response, _MESSAGES, raw=unwrap_payload(self._http.json_body(response))
        )

    async def create_message_with_attachments(
        self,
        conversation_id: int,
        attachments: Sequence[CwUpload],
        *,
        content: str = "",
        message_type: Literal["incoming", "outgoing"] = "incoming",
        private: bool = False,
        source_id: str | None = None,
        is_voice_message: bool = False,
    ) -> CwMessageResult:
        """multipart/form-data with `attachments[]` (max 15 per message)."""
        form: dict[str, str] = {
            "content": content,
            "message_type": message_type,
            "private": "true" if private else "false",
        }
        if source_id:
            form["source_id"] = source_id
        if is_voice_message:
            form["is_voice_message"] = "true"
        files = [("attachments[]", (a.file_name, a.data, a.content_type)) for a in attachments]
        path = f"{self._conv(conversation_id)}/messages"
        response = await self._call("POST", path, data=form, files=files)
        return self._http.parse(response, _MESSAGE)

    async def update_message_status(
        self,
        conversation_id: int,
        message_id: int,
        status: CwMessageStatus,
        *,
        external_error: str | None = None,
    ) -> None:
        """API inboxes only (others answer 403); read → delivered is ignored by Chatwoot."""
        body: dict[str, Any] = {"status": status}
        if external_error:
            body["external_error"] = external_error[:255]
        path = f"{self._conv(conversation_id)}/messages/{int(message_id)}"
        await self._call("PATCH", path, json=body)
