"""JSON views of Chatwoot rows: API responses, push data and webhook payloads."""

from __future__ import annotations

from bridge.sim.chatwoot_store import MESSAGE_TYPE_NAMES, MESSAGE_TYPES, ChatwootState, Row, iso


def inbox_slim(inbox: Row) -> Row:
    return {
        k: inbox[k] for k in ("id", "avatar_url", "channel_id", "name", "channel_type", "provider")
    }


def inbox_json(inbox: Row, *, admin: bool = True) -> Row:
    hidden = {"secret", "hmac_token", "imap_password", "smtp_password", "members", "agent_bot_id"}
    out = {k: v for k, v in inbox.items() if k not in hidden}
    if admin:
        out.update(secret=inbox.get("secret"), hmac_token=inbox.get("hmac_token"))
    return out


def contact_push(contact: Row) -> Row:
    keys = (
        "additional_attributes",
        "custom_attributes",
        "email",
        "id",
        "identifier",
        "name",
        "phone_number",
        "thumbnail",
        "blocked",
    )
    return {**{k: contact[k] for k in keys}, "type": "contact"}


def contact_json(state: ChatwootState, contact: Row) -> Row:
    out = {k: v for k, v in contact.items()}
    out["availability_status"] = "offline"
    out["contact_inboxes"] = [
        {"source_id": ci["source_id"], "inbox": inbox_slim(state.inboxes[ci["inbox_id"]])}
        for ci in state.contact_inboxes.values()
        if ci["contact_id"] == contact["id"]
    ]
    return out


def user_push(user: Row) -> Row:
    return {
        "id": user["id"],
        "name": user["name"],
        "available_name": user["name"],
        "avatar_url": "",
        "type": "user",
        "availability_status": user["availability_status"],
        "thumbnail": "",
    }


def agent_json(state: ChatwootState, user: Row) -> Row:
    au = state.account_users.get(user["id"], {})
    return {
        "id": user["id"],
        "account_id": state.account["id"],
        "availability_status": user["availability_status"],
        "auto_offline": au.get("auto_offline", True),
        "confirmed": user["confirmed"],
        "email": user["email"],
        "provider": "email",
        "available_name": user["name"],
        "name": user["name"],
        "role": au.get("role"),
        "thumbnail": "",
    }


def sender_push(state: ChatwootState, msg: Row) -> Row | None:
    kind, sid = msg["sender_type"], msg["sender_id"]
    if kind == "Contact":
        return contact_push(state.contacts[sid])
    if kind == "User":
        return user_push(state.users[sid])
    if kind == "AgentBot":
        bot = state.agent_bots[sid]
        return {"id": bot["id"], "name": bot["name"], "avatar_url": "", "type": "agent_bot"}
    return None


def sender_webhook(state: ChatwootState, msg: Row) -> Row | None:
    kind, sid = msg["sender_type"], msg["sender_id"]
    if kind == "Contact":
        c = state.contacts[sid]
        keys = (
            "additional_attributes",
            "custom_attributes",
            "email",
            "id",
            "identifier",
            "name",
            "phone_number",
            "thumbnail",
            "blocked",
        )
        return {"account": state.account, **{k: c[k] for k in keys}, "avatar": ""}
    if kind == "User":
        u = state.users[sid]
        return {"id": u["id"], "name": u["name"], "email": u["email"], "type": "user"}
    if kind == "AgentBot":
        return {"id": sid, "name": state.agent_bots[sid]["name"], "type": "agent_bot"}
    return None


def message_push(state: ChatwootState, msg: Row) -> Row:
    conv = state.conversations[msg["conversation_id"]]
    ci = state.contact_inboxes[conv["contact_inbox_id"]]
    out = {
        k: msg[k]
        for k in (
            "id",
            "content",
            "account_id",
            "inbox_id",
            "conversation_id",
            "message_type",
            "created_at",
            "private",
            "status",
            "source_id",
            "content_type",
            "content_attributes",
            "sender_type",
            "sender_id",
        )
    }
    out.update(
        updated_at=iso(msg["created_at"]),
        external_source_ids={},
        additional_attributes=msg.get("additional_attributes", {}),
        processed_message_content=msg["content"],
        sentiment={},
        conversation={
            "assignee_id": conv["assignee_id"],
            "unread_count": 0,
            "last_activity_at": conv["last_activity_at"],
            "contact_inbox": {"source_id": ci["source_id"]},
        },
        sender=sender_push(state, msg),
    )
    if msg["attachments"]:
        out["attachments"] = [_public(state.attachments[a]) for a in msg["attachments"]]
    return out


def conversation_data(state: ChatwootState, conv: Row) -> Row:
    """`Conversations::EventDataPresenter#webhook_data`."""
    ci = state.contact_inboxes[conv["contact_inbox_id"]]
    inbox = state.inboxes[conv["inbox_id"]]
    visible = [
        m
        for m in (state.messages[i] for i in conv["message_ids"])
        if not m["private"] and m["message_type"] != MESSAGE_TYPES["activity"]
    ]
    assignee = state.users.get(conv["assignee_id"] or 0)
    team = state.teams.get(conv["team_id"] or 0)
    return {
        "additional_attributes": conv["additional_attributes"],
        "can_reply": True,
        "channel": inbox["channel_type"],
        "contact_inbox": ci,
        "id": conv["id"],
        "inbox_id": conv["inbox_id"],
        "messages": [message_push(state, visible[-1])] if visible else [],
        "labels": conv["labels"],
        "meta": {
            "sender": contact_push(state.contacts[conv["contact_id"]]),
            "assignee": user_push(assignee) if assignee else None,
            "assignee_type": "User" if assignee else None,
            "team": {k: team[k] for k in ("id", "name")} if team else None,
            "hmac_verified": False,
        },
        "status": conv["status"],
        "custom_attributes": conv["custom_attributes"],
        "snoozed_until": None,
        "unread_count": 0,
        "first_reply_created_at": None,
        "priority": None,
        "waiting_since": conv["waiting_since"],
        "agent_last_seen_at": 0,
        "contact_last_seen_at": 0,
        "last_activity_at": conv["last_activity_at"],
        "timestamp": conv["last_activity_at"],
        "created_at": conv["created_at"],
        "updated_at": float(conv["last_activity_at"]),
        "account": state.account,
    }


def conversation_json(state: ChatwootState, conv: Row) -> Row:
    return {
        **conversation_data(state, conv),
        "uuid": conv["uuid"],
        "account_id": state.account["id"],
        "muted": False,
        "sla_policy_id": None,
    }


def message_webhook(state: ChatwootState, msg: Row, event: str) -> Row:
    inbox = state.inboxes[msg["inbox_id"]]
    out: Row = {
        "account": state.account,
        "additional_attributes": msg.get("additional_attributes", {}),
        "content_attributes": msg["content_attributes"],
        "content_type": msg["content_type"],
        "content": msg["content"],
        "conversation": conversation_data(state, state.conversations[msg["conversation_id"]]),
        "created_at": iso(msg["created_at"]),
        "id": msg["id"],
        "inbox": {"id": inbox["id"], "name": inbox["name"]},
        "message_type": MESSAGE_TYPE_NAMES[msg["message_type"]],
        "private": msg["private"],
        "sender": sender_webhook(state, msg),
        "source_id": msg["source_id"],
    }
    if msg["attachments"]:
        out["attachments"] = [_public(state.attachments[a]) for a in msg["attachments"]]
    out["event"] = event
    return out


def _public(attachment: Row) -> Row:
    """An attachment as the API shows it (the stored bytes stay private)."""
    return {k: v for k, v in attachment.items() if not k.startswith("_")}
