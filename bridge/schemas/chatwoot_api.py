"""Chatwoot REST response bodies the bridge reads back (ids, secrets, statuses)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator

from bridge.schemas.base import UpstreamModel
from bridge.schemas.chatwoot import CwConversation, CwMessageType, message_type_name


class CwContact(UpstreamModel):
    id: int
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    identifier: str | None = None


class CwContactInboxResult(UpstreamModel):
    source_id: str
    inbox: dict[str, Any] = Field(default_factory=dict)


class CwMessageResult(UpstreamModel):
    """Create-message answer; `message_type` is an int there, normalised to its name."""

    id: int
    content: str | None = None
    message_type: CwMessageType | int
    private: bool = False
    source_id: str | None = None
    conversation_id: int | None = None

    @field_validator("message_type", mode="before")
    @classmethod
    def _type_name(cls, value: Any) -> Any:
        return message_type_name(value)


class CwToggleStatusResult(UpstreamModel):
    success: bool = True
    conversation_id: int
    current_status: str


class CwInbox(UpstreamModel):
    """`secret` (4.13+, admins only) signs the API-inbox webhooks."""

    id: int
    name: str
    channel_type: str | None = None
    webhook_url: str | None = None
    inbox_identifier: str | None = None
    enable_auto_assignment: bool | None = None
    secret: SecretStr | None = None


class CwTeam(UpstreamModel):
    id: int
    name: str
    description: str | None = None
    allow_auto_assign: bool | None = None


class CwAgent(UpstreamModel):
    id: int
    name: str | None = None
    email: str | None = None
    role: str | None = None
    confirmed: bool | None = None


class CwAgentBot(UpstreamModel):
    id: int
    name: str
    outgoing_url: str | None = None
    access_token: SecretStr | None = None
    secret: SecretStr | None = None


class CwAutomationRule(UpstreamModel):
    id: int
    name: str
    event_name: str
    active: bool = True
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)


class CwWebhook(UpstreamModel):
    id: int
    url: str
    name: str | None = None
    subscriptions: list[str] = Field(default_factory=list)
    secret: SecretStr | None = None


class CwAccountInfo(UpstreamModel):
    id: int
    name: str | None = None
    locale: str | None = None


class CwProfile(UpstreamModel):
    id: int
    email: str | None = None
    name: str | None = None
    role: str | None = None


class CwVersionInfo(UpstreamModel):
    """`GET /api` (not in the swagger): `{"version": "4.15.1", "timestamp": …, …}`."""

    version: str


class CwPlatformUser(UpstreamModel):
    id: int
    email: str
    name: str | None = None
    confirmed: bool | None = None
    access_token: SecretStr | None = None


class CwAccountUser(UpstreamModel):
    id: int | None = None
    account_id: int
    user_id: int
    role: str


class CwLoginLink(UpstreamModel):
    """One-time SSO URL: it carries a 5-minute login token, so never log it."""

    url: SecretStr


__all__ = [
    "CwAccountInfo",
    "CwAccountUser",
    "CwAgent",
    "CwAgentBot",
    "CwAutomationRule",
    "CwContact",
    "CwContactInboxResult",
    "CwConversation",
    "CwInbox",
    "CwLoginLink",
    "CwMessageResult",
    "CwPlatformUser",
    "CwProfile",
    "CwTeam",
    "CwToggleStatusResult",
    "CwVersionInfo",
    "CwWebhook",
]
