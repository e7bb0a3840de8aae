"""Settings: every missing or invalid variable is named, with what it expects."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bridge.errors import ConfigError
from bridge.settings import load_settings
from tests.factories import env_for, make_settings

REQUIRED = [
    "BRIDGE_ADMIN_TOKEN",
    "EVOLUTION_URL",
    "EVOLUTION_API_KEY",
    "EVOLUTION_INSTANCE",
    "EVOLUTION_WEBHOOK_SECRET",
    "TYPEBOT_URL",
    "TYPEBOT_PUBLIC_ID",
    "TYPEBOT_WEBHOOK_SECRET",
    "CHATWOOT_URL",
    "CHATWOOT_ACCOUNT_ID",
    "CHATWOOT_API_TOKEN",
    "SMTP_FROM",
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in env_for():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_missing_variable_is_named(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    for name in REQUIRED:
        assert f"{name}: missing" in message


@pytest.mark.parametrize("name", REQUIRED)
def test_each_single_missing_variable_is_named(clean_env: pytest.MonkeyPatch, name: str) -> None:
    for key, value in env_for().items():
        clean_env.setenv(key, value)
    clean_env.delenv(name)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    lines = [line.strip() for line in str(caught.value).splitlines()[1:]]
    assert len(lines) == 1
    assert lines[0].startswith(f"{name}: missing; expects ")


def test_invalid_values_are_named_with_expectation(clean_env: pytest.MonkeyPatch) -> None:
    for key, value in env_for().items():
        clean_env.setenv(key, value)
    clean_env.setenv("BRIDGE_PORT", "99999")
    clean_env.setenv("BRIDGE_DATABASE_URL", "mysql://x")
    clean_env.setenv("EVOLUTION_URL", "not a url")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    message = str(caught.value)
    assert "BRIDGE_PORT: invalid" in message
    assert "BRIDGE_DATABASE_URL: invalid" in message
    assert "EVOLUTION_URL: invalid" in message
    assert "TYPEBOT_URL" not in message


def test_secret_values_never_in_error_message(clean_env: pytest.MonkeyPatch) -> None:
    for key, value in env_for().items():
        clean_env.setenv(key, value)
    clean_env.setenv("BRIDGE_ADMIN_TOKEN", "short-s3cr")  # too short: invalid
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None)
    assert "BRIDGE_ADMIN_TOKEN: invalid" in str(caught.value)
    assert "short-s3cr" not in str(caught.value)


def test_env_file_is_read(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(f"{k}={v}" for k, v in env_for(bridge_port=9191).items()))
    settings = load_settings(env_file=env_file)
    assert settings.bridge_port == 9191
    assert isinstance(settings.evolution_api_key, SecretStr)


def test_defaults_follow_the_design() -> None:
    settings = make_settings(bridge_database_url="sqlite:///data/bridge.db")
    assert settings.max_body_bytes == 2 * 1024 * 1024
    assert settings.bridge_port == 8080
    assert settings.provisioning_mailbox_quota_mb == 3072
    assert settings.smtp_tls == "starttls"
    assert [s.get_secret_value() for s in settings.chatwoot_webhook_secret_list] == [
        "cw-inbox-secret-aaaa",
        "cw-inbox-secret-bbbb",
    ]


def test_chatwoot_webhook_never_runs_open() -> None:
    settings = make_settings(chatwoot_webhook_secrets="", chatwoot_webhook_token="")
    with pytest.raises(ConfigError, match="CHATWOOT_WEBHOOK_SECRETS"):
        settings.require_chatwoot_webhook_auth()
    make_settings(
        chatwoot_webhook_secrets="", chatwoot_webhook_token="tok"
    ).require_chatwoot_webhook_auth()


def test_provisioning_reports_what_it_misses() -> None:
    assert make_settings().provisioning_missing() == []
    missing = make_settings(mailcow_url=None, mail_domain=None).provisioning_missing()
    assert missing == ["MAILCOW_URL", "MAIL_DOMAIN"]
