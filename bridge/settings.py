"""Settings: the one place the environment (and `.env`) is read.

Every variable of DESIGN.md §4 is a field here, named after its environment variable.
`load_settings()` turns pydantic's validation errors into one `ConfigError` that names
each bad or missing variable and what it expects, so the CLI can exit 2 without a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar, overload
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bridge.errors import ConfigError

# What each field expects, shown next to its variable when it is missing or invalid.
_EXPECTS: dict[str, str] = {
    "bridge_port": "a TCP port number (1-65535)",
    "bridge_database_url": "sqlite:///path/to/file.db or postgresql://user:pass@host:5432/db",
    "bridge_max_body_mb": "a positive number of MiB",
    "bridge_admin_token": "a long random bearer token for /api/* (at least 16 characters)",
    "bridge_log_format": "'json' or 'console'",
    "evolution_url": "the Evolution API base URL, e.g. http://evolution:8080",
    "evolution_api_key": "the Evolution API key sent in the apikey header",
    "evolution_instance": "the default Evolution instance name",
    "evolution_webhook_secret": "the shared secret Evolution sends in X-Webhook-Secret",
    "typebot_url": "the Typebot viewer base URL, e.g. http://typebot-viewer:3000",
    "typebot_public_id": "the published bot's public id",
    "typebot_webhook_secret": "the shared secret the Typebot HTTP block sends in X-Webhook-Secret",
    "chatwoot_url": "the Chatwoot base URL, e.g. http://chatwoot:3000",
    "chatwoot_account_id": "the numeric Chatwoot account id",
    "chatwoot_api_token": "an administrator's access token (api_access_token)",
    "smtp_from": "the sender address of invite mails, e.g. hub@example.com",
    "smtp_tls": "'none', 'starttls' or 'tls'",
    "mailcow_url": "the Mailcow base URL, e.g. https://mail.example.com",
}


def _env_name(field: str) -> str:
    return field.upper()


class DatabaseSettings(BaseSettings):
    """What `bridge migrate` needs: only the database."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bridge_database_url: str = "sqlite:///data/bridge.db"
    bridge_log_format: Literal["json", "console"] = "json"

    @field_validator("bridge_database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError("scheme must be sqlite, postgresql or postgres")
        return value

    def secret_values(self) -> list[str]:
        """Every secret's plain value, for the log redaction filter."""
        values: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                values.extend(v.strip() for v in value.get_secret_value().split(","))
        password = urlsplit(self.bridge_database_url).password
        if password:
            values.append(password)
        return [v for v in values if len(v) >= 4]


class SetupSettings(DatabaseSettings):
    """What `bridge setup` / `bridge verify` need: the upstreams, not the webhook secrets."""

    bridge_public_url: AnyHttpUrl = AnyHttpUrl("http://localhost:8080")
    bridge_departments_file: Path = Path("config/departments.toml")

    evolution_url: AnyHttpUrl
    evolution_api_key: SecretStr
    evolution_instance: str = Field(min_length=1)
    evolution_webhook_secret: SecretStr = Field(min_length=8)

    chatwoot_url: AnyHttpUrl
    chatwoot_account_id: int = Field(ge=1)
    chatwoot_api_token: SecretStr
    chatwoot_platform_token: SecretStr | None = None

    mailcow_url: AnyHttpUrl | None = None
    mailcow_api_key: SecretStr | None = None
    mail_domain: str | None = None
    mail_imap_host: str | None = None
    mail_imap_port: int = Field(993, ge=1, le=65535)
    mail_smtp_host: str | None = None
    mail_smtp_port: int = Field(587, ge=1, le=65535)

    @property
    def imap_host(self) -> str:
        return self.mail_imap_host or self._mailcow_host()

    @property
    def submission_host(self) -> str:
        return self.mail_smtp_host or self._mailcow_host()

    def _mailcow_host(self) -> str:
        return (self.mailcow_url.host or "") if self.mailcow_url else ""


class Settings(SetupSettings):
    """All configuration of `bridge serve`."""

    bridge_host: str = "0.0.0.0"  # noqa: S104 - a service listens on all interfaces by default
    bridge_port: int = Field(8080, ge=1, le=65535)
    bridge_max_body_mb: float = Field(2.0, gt=0)
    bridge_admin_token: SecretStr = Field(min_length=16)

    typebot_url: AnyHttpUrl
    typebot_public_id: str = Field(min_length=1)
    typebot_webhook_secret: SecretStr = Field(min_length=8)

    chatwoot_webhook_secrets: SecretStr = SecretStr("")
    chatwoot_webhook_token: SecretStr = SecretStr("")

    smtp_host: str = "localhost"
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"

    hub_sso_secret: SecretStr = SecretStr("")
    # Conversation behaviour (not in DESIGN.md §4; defaults are what an operator expects).
    bridge_bot_session_timeout_min: int = Field(30, ge=1)
    bridge_ignore_groups: bool = True
    bridge_choice_buttons: bool = False
    provisioning_username_template: str = "{first}.{last}"
    provisioning_mailbox_quota_mb: int = Field(3072, ge=1)

    @field_validator("provisioning_username_template")
    @classmethod
    def _username_template(cls, value: str) -> str:
        if "{first}" not in value and "{last}" not in value:
            raise ValueError("must contain {first} and/or {last}")
        return value

    # -- derived values ------------------------------------------------------------------

    @property
    def max_body_bytes(self) -> int:
        return int(self.bridge_max_body_mb * 1024 * 1024)

    @property
    def chatwoot_webhook_secret_list(self) -> list[SecretStr]:
        raw = self.chatwoot_webhook_secrets.get_secret_value()
        return [SecretStr(part.strip()) for part in raw.split(",") if part.strip()]

    def require_chatwoot_webhook_auth(self) -> None:
        """`/webhooks/chatwoot` never runs open (DESIGN.md §4)."""
        if not self.chatwoot_webhook_secret_list and not self.chatwoot_webhook_token:
            raise ConfigError(
                "CHATWOOT_WEBHOOK_SECRETS / CHATWOOT_WEBHOOK_TOKEN: set at least one "
                "(comma-separated inbox/agent-bot secrets from `bridge setup`, or a ?token= for "
                "Chatwoot < 4.13); /webhooks/chatwoot refuses to run unauthenticated"
            )

    def provisioning_missing(self) -> list[str]:
        """Variables provisioning and SSO need that are not set (empty when ready)."""
        needed = {
            "CHATWOOT_PLATFORM_TOKEN": self.chatwoot_platform_token,
            "MAILCOW_URL": self.mailcow_url,
            "MAILCOW_API_KEY": self.mailcow_api_key,
            "MAIL_DOMAIN": self.mail_domain,
        }
        return [name for name, value in needed.items() if not value]


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad variable: its environment name, the problem and what it expects."""
    lines: list[str] = []
    seen: set[str] = set()
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        if field in seen:
            continue
        seen.add(field)
        problem = "missing" if item["type"] == "missing" else f"invalid ({item['msg']})"
        expects = _EXPECTS.get(field)
        suffix = f"; expects {expects}" if expects else ""
        lines.append(f"  {_env_name(field)}: {problem}{suffix}")
    return "configuration error:\n" + "\n".join(lines)


SettingsT = TypeVar("SettingsT", bound=DatabaseSettings)


@overload
def load_settings(env_file: str | Path | None = ".env") -> Settings: ...


@overload
def load_settings(env_file: str | Path | None, cls: type[SettingsT]) -> SettingsT: ...


def load_settings(
    env_file: str | Path | None = ".env", cls: type[DatabaseSettings] = Settings
) -> DatabaseSettings:
    """Read the settings or raise ConfigError naming every bad variable."""
    try:
        return cls(_env_file=env_file)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
