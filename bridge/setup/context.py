"""What setup reconciles towards: desired values from the settings, per-department working ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import httpx
from pydantic import Field, SecretStr

from bridge.clients import ChatwootClient, ChatwootPlatformClient, EvolutionClient, MailcowClient
from bridge.departments import Department
from bridge.settings import SetupSettings

IdField = Literal["chatwoot_inbox_id", "chatwoot_team_id", "chatwoot_email_inbox_id"]
ID_FIELDS: tuple[IdField, ...] = (
    "chatwoot_inbox_id",
    "chatwoot_team_id",
    "chatwoot_email_inbox_id",
)


class SetupCommandSettings(SetupSettings):
    """SetupSettings plus the mailbox quota setup uses for department mailboxes."""

    provisioning_mailbox_quota_mb: int = Field(3072, ge=1)


def public_base(settings: SetupSettings) -> str:
    return str(settings.bridge_public_url).rstrip("/")


@dataclass(frozen=True)
class Targets:
    """The desired values setup owns, derived once from the settings."""

    chatwoot_webhook_url: str
    evolution_webhook_url: str
    evolution_instance: str
    evolution_webhook_secret: SecretStr
    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    mailbox_quota_mb: int = 3072

    @classmethod
    def from_settings(cls, settings: SetupSettings) -> Targets:
        base = public_base(settings)
        quota = getattr(settings, "provisioning_mailbox_quota_mb", 3072)
        return cls(
            chatwoot_webhook_url=f"{base}/webhooks/chatwoot",
            evolution_webhook_url=f"{base}/webhooks/evolution",
            evolution_instance=settings.evolution_instance,
            evolution_webhook_secret=settings.evolution_webhook_secret,
            imap_host=settings.imap_host,
            imap_port=settings.mail_imap_port,
            smtp_host=settings.submission_host,
            smtp_port=settings.mail_smtp_port,
            mailbox_quota_mb=int(quota),
        )


@dataclass
class DeptState:
    """One department while reconciling: the ids found or created so far.

    `mailbox_password` lives only in memory, between creating the mailbox and handing it to
    Chatwoot's email inbox; it is never printed, logged or written.
    """

    department: Department
    chatwoot_inbox_id: int | None = None
    chatwoot_team_id: int | None = None
    chatwoot_email_inbox_id: int | None = None
    pending: set[IdField] = field(default_factory=set)
    mailbox_password: SecretStr | None = None

    @classmethod
    def of(cls, department: Department) -> DeptState:
        return cls(
            department=department,
            chatwoot_inbox_id=department.chatwoot_inbox_id,
            chatwoot_team_id=department.chatwoot_team_id,
            chatwoot_email_inbox_id=department.chatwoot_email_inbox_id,
        )

    @property
    def key(self) -> str:
        return self.department.key

    def get_id(self, name: IdField) -> int | None:
        value: int | None = getattr(self, name)
        return value

    def set_id(self, name: IdField, value: int) -> None:
        setattr(self, name, value)
        self.pending.discard(name)

    def file_changes(self) -> list[IdField]:
        """Id fields whose value in the file is (or, once created, will be) different."""
        return [
            name
            for name in ID_FIELDS
            if name in self.pending or self.get_id(name) != getattr(self.department, name)
        ]


@dataclass
class SetupClients:
    chatwoot: ChatwootClient
    evolution: EvolutionClient
    mailcow: MailcowClient | None = None
    platform: ChatwootPlatformClient | None = None

    @classmethod
    def from_settings(
        cls, settings: SetupSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> SetupClients:
        mailcow = None
        if settings.mailcow_url is not None and settings.mailcow_api_key is not None:
            mailcow = MailcowClient(
                base_url=str(settings.mailcow_url),
                api_key=settings.mailcow_api_key.get_secret_value(),
                transport=transport,
            )
        platform = None
        if settings.chatwoot_platform_token is not None:
            platform = ChatwootPlatformClient(
                base_url=str(settings.chatwoot_url),
                platform_token=settings.chatwoot_platform_token.get_secret_value(),
                transport=transport,
            )
        return cls(
            chatwoot=ChatwootClient(
                base_url=str(settings.chatwoot_url),
                api_token=settings.chatwoot_api_token.get_secret_value(),
                account_id=settings.chatwoot_account_id,
                transport=transport,
            ),
            evolution=EvolutionClient(
                base_url=str(settings.evolution_url),
                api_key=settings.evolution_api_key.get_secret_value(),
                transport=transport,
            ),
            mailcow=mailcow,
            platform=platform,
        )

    async def aclose(self) -> None:
        await self.chatwoot.aclose()
        await self.evolution.aclose()
        if self.mailcow is not None:
            await self.mailcow.aclose()
        if self.platform is not None:
            await self.platform.aclose()
