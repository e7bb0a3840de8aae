"""Builders of test settings: a complete, valid configuration pointing at fake upstreams."""

from __future__ import annotations

from typing import Any

from bridge.departments import Departments
from bridge.settings import Settings

TEST_SECRETS = {
    "bridge_admin_token": "admin-token-0123456789abcdef",
    "evolution_api_key": "evo-api-key-0123456789",
    "evolution_webhook_secret": "evo-webhook-secret-0123",
    "typebot_webhook_secret": "typebot-webhook-secret-0123",
    "chatwoot_api_token": "cw-api-token-0123456789",
    "chatwoot_platform_token": "cw-platform-token-0123456789",
    "chatwoot_webhook_secrets": "cw-inbox-secret-aaaa,cw-inbox-secret-bbbb",
    "mailcow_api_key": "mailcow-key-0123456789",
    "smtp_password": "smtp-password-0123",
    "hub_sso_secret": "hub-sso-secret-0123456789abcdef",
}

BASE_ENV: dict[str, Any] = {
    "bridge_public_url": "http://bridge.test",
    "bridge_database_url": "sqlite:///:memory:",
    "evolution_url": "http://evolution.test",
    "evolution_instance": "inst-demo",
    "typebot_url": "http://typebot.test",
    "typebot_public_id": "triage-bot",
    "chatwoot_url": "http://chatwoot.test",
    "chatwoot_account_id": 1,
    "mailcow_url": "http://mailcow.test",
    "mail_domain": "mmallelectronics.co.za",
    "smtp_from": "hub@mmallelectronics.co.za",
    "bridge_log_format": "json",
}


def make_settings(**overrides: Any) -> Settings:
    values = {**BASE_ENV, **TEST_SECRETS, **overrides}
    return Settings(_env_file=None, **values)


def env_for(**overrides: Any) -> dict[str, str]:
    """The same configuration as environment variables, for subprocess tests."""
    values = {**BASE_ENV, **TEST_SECRETS, **overrides}
    return {key.upper(): str(value) for key, value in values.items() if value is not None}


def make_departments() -> Departments:
    return Departments.model_validate(
        {
            "department": [
                {
                    "key": "DTV",
                    "name": "DTV",
                    "chatwoot_inbox_id": 2,
                    "chatwoot_team_id": 1,
                    "email": "support.dtv@mmallelectronics.co.za",
                    "auto_reply": "Thanks for emailing DTV. Ticket #{{conversation.display_id}}.",
                },
                {"key": "Sales", "name": "Sales", "chatwoot_inbox_id": 3},
            ]
        }
    )
