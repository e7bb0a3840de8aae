"""Chatwoot domain operations shared by the API routes and the simulated email arrival."""

from __future__ import annotations

import re
import time
from typing import Any

from bridge.sim.chatwoot_dispatch import ChatwootDispatcher
from bridge.sim.chatwoot_store import MESSAGE_TYPES, ChatwootState, Row, iso, new_uuid, token

STATUS_ACTIONS = {
    "resolve_conversation": "resolved",
    "open_conversation": "open",
    "pending_conversation": "pending",
}
LIQUID_RE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")


class ChatwootOpError(Exception):
    """Becomes a 422 `{"error": ...}` (or another status) at the HTTP edge."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def ensure_contact_inbox(
    state: ChatwootState, contact_id: int, inbox_id: int, source_id: str | None
) -> Row:
    inbox = state.inboxes[inbox_id]
    sid = source_id or new_uuid()
    for ci in state.contact_inboxes.values():
        if ci["inbox_id"] == inbox_id and ci["source_id"] == sid:
            if ci["contact_id"] != contact_id:
                raise ChatwootOpError("source_id should be unique")
            return ci
    now = iso(time.time())
    ci = {
        "id": state.next_id("contact_inbox"),
        "contact_id": contact_id,
        "inbox_id": inbox["id"],
        "source_id": sid,
        "created_at": now,
        "updated_at": now,
        "hmac_verified": False,
        "pubsub_token": token(),
    }
    state.contact_inboxes[ci["id"]] = ci
    return ci


def render_liquid(state: ChatwootState, conv: Row, content: str) -> str:
    contact = state.contacts[conv["contact_id"]]
    inbox = state.inboxes[conv["inbox_id"]]
    values = {
        ("conversation", "display_id"): conv["id"],
        ("conversation", "id"): conv["db_id"],
        ("contact", "name"): contact["name"],
        ("contact", "email"): contact["email"],
        ("contact", "phone_number"): contact["phone_number"],
        ("contact", "id"): contact["id"],
        ("inbox", "name"): inbox["name"],
        ("inbox", "id"): inbox["id"],
        ("account", "name"): state.account["name"],
        ("account", "id"): state.account["id"],
    }

    def one(m: re.Match[str]) -> str:
        value = values.get((m.group(1), m.group(2)), "")
        return "" if value is None else str(value)

    return LIQUID_RE.sub(one, content)


def create_conversation(
    state: ChatwootState,
    hooks: ChatwootDispatcher,
    *,
    inbox_id: int,
    contact_id: int,
    source_id: str | None,
    status: str | None = None,
    team_id: int | None = None,
    assignee_id: int | None = None,
    additional_attributes: Row | None = None,
    custom_attributes: Row | None = None,
    run_rules: bool = True,
) -> Row:
    inbox = state.inboxes.get(inbox_id)
    if inbox is None or contact_id not in state.contacts:
        raise ChatwootOpError("Resource could not be found", 404)
    ci = ensure_contact_inbox(state, contact_id, inbox_id, source_id)
    if inbox.get("agent_bot_id"):
        status = "pending"  # an inbox with an active bot forces pending
    now = int(time.time())
    display_id = state.next_id("conversation")
    conv = {
        "id": display_id,
        "db_id": 1000 + display_id,
        "uuid": new_uuid(),
        "inbox_id": inbox_id,
        "contact_id": contact_id,
        "contact_inbox_id": ci["id"],
        "status": status or "open",
        "assignee_id": assignee_id,
        "team_id": team_id,
        "labels": [],
        "custom_attributes": custom_attributes or {},
        "additional_attributes": additional_attributes or {},
        "created_at": now,
        "last_activity_at": now,
        "waiting_since": now,
        "message_ids": [],
    }
    state.conversations[display_id] = conv
    hooks.conversation_event(conv, "conversation_created")
    if run_rules:
        run_automations(state, hooks, "conversation_created", conv)
    return conv


def create_message(
    state: ChatwootState,
    hooks: ChatwootDispatcher,
    conv: Row,
    *,
    content: str | None,
    message_type: str = "outgoing",
    private: bool = False,
    sender: tuple[str, int] | None = None,
    source_id: str | None = None,
    content_type: str = "text",
    content_attributes: Row | None = None,
    attachments: list[int] | None = None,
    automation: bool = False,
) -> Row:
    inbox = state.inboxes[conv["inbox_id"]]
    if message_type not in MESSAGE_TYPES:
        raise ChatwootOpError(f"'{message_type}' is not a valid message_type")
    if message_type == "incoming" and inbox["channel_type"] != "Channel::Api" and not automation:
        raise ChatwootOpError("Incoming messages are only allowed in Api inboxes")
    text = content or ""
    if message_type in ("outgoing", "template"):
        text = render_liquid(state, conv, text)
    if message_type == "incoming":
        sender = ("Contact", conv["contact_id"])
    msg = {
        "id": state.next_id("message") + 9000,
        "content": text,
        "account_id": state.account["id"],
        "inbox_id": conv["inbox_id"],
        "conversation_id": conv["id"],
        "message_type": MESSAGE_TYPES[message_type],
        "created_at": int(time.time()),
        "private": private,
        "status": "sent",
        "source_id": source_id,
        "content_type": content_type,
        "content_attributes": dict(content_attributes or {}),
        "sender_type": sender[0] if sender else None,
        "sender_id": sender[1] if sender else None,
        "attachments": attachments or [],
    }
    for att_id in msg["attachments"]:
        state.attachments[att_id]["message_id"] = msg["id"]
    state.messages[msg["id"]] = msg
    conv["message_ids"].append(msg["id"])
    conv["last_activity_at"] = msg["created_at"]
    if message_type == "incoming" and conv["status"] in ("resolved", "snoozed"):
        target = "pending" if inbox.get("agent_bot_id") else "open"
        set_status(state, hooks, conv, target)
    hooks.message_event(msg)
    if not automation:
        run_automations(state, hooks, "message_created", conv)
    return msg


def set_status(state: ChatwootState, hooks: ChatwootDispatcher, conv: Row, status: str) -> bool:
    if conv["status"] == status:
        return False
    conv["status"] = status
    hooks.conversation_event(conv, "conversation_status_changed")
    return True


def _condition_holds(conv: Row, cond: Row) -> bool:
    key, op = cond.get("attribute_key"), cond.get("filter_operator", "equal_to")
    values = [str(v) for v in cond.get("values", [])]
    actual: Any = {
        "inbox_id": conv["inbox_id"],
        "status": conv["status"],
        "team_id": conv["team_id"],
        "assignee_id": conv["assignee_id"],
        "mail_subject": conv["additional_attributes"].get("mail_subject"),
    }.get(key or "")
    hit = str(actual) in values
    return hit if op == "equal_to" else not hit if op == "not_equal_to" else False


def _rule_matches(conv: Row, conditions: list[Row]) -> bool:
    result: bool | None = None
    pending_op = None
    for cond in conditions:
        holds = _condition_holds(conv, cond)
        if result is None:
            result = holds
        else:
            result = (result or holds) if pending_op == "OR" else (result and holds)
        pending_op = cond.get("query_operator")
    return bool(result)


def run_automations(state: ChatwootState, hooks: ChatwootDispatcher, event: str, conv: Row) -> None:
    """Rules never fire for events caused by automations; auto-reply emails are skipped."""
    if event == "conversation_created" and conv["additional_attributes"].get("auto_reply"):
        return
    for rule in state.automation_rules.values():
        if not rule["active"] or rule["event_name"] != event:
            continue
        if not _rule_matches(conv, rule["conditions"]):
            continue
        for action in rule["actions"]:
            name, params = action.get("action_name"), action.get("action_params") or []
            if name == "send_message" and params:
                msg = create_message(
                    state,
                    hooks,
                    conv,
                    content=str(params[0]),
                    content_attributes={"automation_rule_id": rule["id"]},
                    automation=True,
                )
                _mail_if_email_inbox(state, conv, msg)
            elif name == "add_label":
                conv["labels"] = sorted({*conv["labels"], *map(str, params)})
            elif name == "assign_team" and params:
                conv["team_id"] = int(params[0])
            elif name in ("resolve_conversation", "open_conversation", "pending_conversation"):
                set_status(state, hooks, conv, STATUS_ACTIONS[name])


def _mail_if_email_inbox(state: ChatwootState, conv: Row, msg: Row) -> None:
    inbox = state.inboxes[conv["inbox_id"]]
    if inbox["channel_type"] == "Channel::Email":
        contact = state.contacts[conv["contact_id"]]
        subject = conv["additional_attributes"].get("mail_subject", "")
        state.emails_sent.append(
            {
                "from": inbox["email"],
                "to": contact["email"],
                "subject": f"Re: {subject}",
                "body": msg["content"],
                "conversation_id": conv["id"],
            }
        )
