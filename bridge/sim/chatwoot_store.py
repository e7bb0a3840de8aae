"""In-memory Chatwoot data of one account: rows as dicts, id counters, tokens."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]
MESSAGE_TYPES = {"incoming": 0, "outgoing": 1, "activity": 2, "template": 3}
MESSAGE_TYPE_NAMES = {v: k for k, v in MESSAGE_TYPES.items()}


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def token(n: int = 24) -> str:
    return secrets.token_urlsafe(n)[:n]


@dataclass
class ChatwootState:
    """Everything the simulator knows; rows are plain dicts keyed by database id."""

    account: Row
    frontend_url: str = "http://127.0.0.1:3000"
    platform_token: str = ""
    users: dict[int, Row] = field(default_factory=dict)
    account_users: dict[int, Row] = field(default_factory=dict)  # by user id
    contacts: dict[int, Row] = field(default_factory=dict)
    contact_inboxes: dict[int, Row] = field(default_factory=dict)
    inboxes: dict[int, Row] = field(default_factory=dict)
    teams: dict[int, Row] = field(default_factory=dict)
    conversations: dict[int, Row] = field(default_factory=dict)  # by display id
    messages: dict[int, Row] = field(default_factory=dict)
    attachments: dict[int, Row] = field(default_factory=dict)
    agent_bots: dict[int, Row] = field(default_factory=dict)
    automation_rules: dict[int, Row] = field(default_factory=dict)
    webhooks: dict[int, Row] = field(default_factory=dict)
    sso_tokens: dict[str, Row] = field(default_factory=dict)
    sessions: list[Row] = field(default_factory=list)
    emails_sent: list[Row] = field(default_factory=list)
    _ids: dict[str, int] = field(default_factory=dict)

    def next_id(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def add_user(
        self,
        *,
        name: str,
        email: str,
        role: str | None,
        password: str = "",
        confirmed: bool = True,
        access_token: str | None = None,
    ) -> Row:
        uid = self.next_id("user")
        user = {
            "id": uid,
            "name": name,
            "display_name": None,
            "email": email.lower(),
            "password": password,
            "confirmed": confirmed,
            "custom_attributes": {},
            "access_token": access_token or token(),
            "pubsub_token": token(),
            "availability_status": "offline",
        }
        self.users[uid] = user
        if role:
            self.set_account_user(uid, role)
        return user

    def set_account_user(self, user_id: int, role: str, auto_offline: bool = True) -> Row:
        row = self.account_users.get(user_id) or {
            "id": self.next_id("account_user"),
            "account_id": self.account["id"],
            "user_id": user_id,
            "inviter_id": None,
            "created_at": iso(time.time()),
            "active_at": None,
            "availability": "offline",
            "custom_role_id": None,
            "agent_capacity_policy_id": None,
        }
        row.update(role=role, auto_offline=auto_offline, updated_at=iso(time.time()))
        self.account_users[user_id] = row
        return row

    def find_user_by_token(self, given: str) -> Row | None:
        return next(
            (u for u in self.users.values() if secrets.compare_digest(u["access_token"], given)),
            None,
        )

    def find_bot_by_token(self, given: str) -> Row | None:
        return next(
            (
                b
                for b in self.agent_bots.values()
                if secrets.compare_digest(b["access_token"], given)
            ),
            None,
        )


def new_uuid() -> str:
    return str(uuid.uuid4())
