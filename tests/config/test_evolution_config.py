"""config/evolution: the webhook and settings bodies of DESIGN.md §5, accepted by Evolution."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.clients.evolution import BRIDGE_WEBHOOK_EVENTS
from bridge.sim.evolution import create_evolution_app
from tests.config.files import load_json, read_text
from tests.contracts_dir import load_contract

# DESIGN.md §5, in its order.
DESIGN_EVENTS = [
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "MESSAGES_EDITED",
    "SEND_MESSAGE",
    "CONNECTION_UPDATE",
]
# Evolution rejects /settings/set without these (research evolution-api.md §g2).
SETTINGS_REQUIRED = {
    "rejectCall",
    "groupsIgnore",
    "alwaysOnline",
    "readMessages",
    "readStatus",
    "syncFullHistory",
}
API_KEY = "evo-test-key"
INSTANCE = "mmall"


@pytest.fixture(scope="module")
def webhook() -> dict[str, Any]:
    data: dict[str, Any] = load_json("evolution/webhook.json")
    return data


@pytest.fixture(scope="module")
def settings() -> dict[str, Any]:
    data: dict[str, Any] = load_json("evolution/settings.json")
    return data


def test_webhook_has_the_nested_shape_of_the_sample(webhook: dict[str, Any]) -> None:
    sample = load_contract("evolution/webhook-set-request.json")
    assert set(webhook) == set(sample) == {"webhook"}
    assert set(webhook["webhook"]) == set(sample["webhook"])


def test_webhook_matches_design(webhook: dict[str, Any]) -> None:
    hook = webhook["webhook"]
    assert hook["events"] == DESIGN_EVENTS
    assert list(BRIDGE_WEBHOOK_EVENTS) == DESIGN_EVENTS  # what `bridge setup` sends agrees
    assert hook["enabled"] is True
    assert hook["byEvents"] is False
    assert hook["base64"] is False
    assert hook["url"].startswith("https://")
    assert hook["url"].endswith("/webhooks/evolution")
    assert list(hook["headers"]) == ["X-Webhook-Secret"]
    assert "EVOLUTION_WEBHOOK_SECRET" in hook["headers"]["X-Webhook-Secret"]


def test_settings_have_every_required_key_with_design_values(settings: dict[str, Any]) -> None:
    assert set(settings) >= SETTINGS_REQUIRED
    assert set(settings) <= SETTINGS_REQUIRED | {"msgCall"}
    assert all(isinstance(settings[k], bool) for k in SETTINGS_REQUIRED)
    assert isinstance(settings["msgCall"], str)
    assert settings["groupsIgnore"] is True
    for key in ("readMessages", "readStatus", "alwaysOnline", "syncFullHistory"):
        assert settings[key] is False, key


async def test_simulated_evolution_accepts_and_stores_both_bodies(
    aiohttp_client: Any, webhook: dict[str, Any], settings: dict[str, Any]
) -> None:
    evo = await aiohttp_client(create_evolution_app(api_key=API_KEY, instance=INSTANCE))
    auth = {"apikey": API_KEY}

    resp = await evo.post(f"/webhook/set/{INSTANCE}", json=webhook, headers=auth)
    assert resp.status == 201, await resp.text()
    resp = await evo.post(f"/settings/set/{INSTANCE}", json=settings, headers=auth)
    assert resp.status == 201, await resp.text()

    stored = await (await evo.get(f"/webhook/find/{INSTANCE}", headers=auth)).json()
    assert stored["url"] == webhook["webhook"]["url"]
    assert stored["events"] == DESIGN_EVENTS
    assert stored["webhookByEvents"] is False
    assert stored["webhookBase64"] is False
    stored_settings = await (await evo.get(f"/settings/find/{INSTANCE}", headers=auth)).json()
    for key, value in settings.items():
        assert stored_settings[key] == value, key


def test_readme_lists_the_server_environment_and_the_calls() -> None:
    readme = read_text("evolution/README.md")
    for needle in (
        "CHATWOOT_ENABLED=false",
        "TYPEBOT_ENABLED=false",
        "DATABASE_SAVE_DATA_NEW_MESSAGE=true",
        "AUTHENTICATION_API_KEY",
        "TZ=UTC",
        "v2.3.7",
        "/webhook/set/",
        "/settings/set/",
    ):
        assert needle in readme, needle
