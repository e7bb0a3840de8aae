"""Evolution instance: webhook to the bridge, instance settings, built-in integrations off."""

from __future__ import annotations

import hmac
from typing import Any

from bridge.clients import BRIDGE_WEBHOOK_EVENTS, EvolutionClient
from bridge.setup.context import Targets
from bridge.setup.plan import Plan

SYSTEM = "evolution"
SECRET_HEADER = "X-Webhook-Secret"  # noqa: S105 - a header name, not a secret
# DESIGN §5: what the bridge needs from the instance settings.
WANTED_SETTINGS = {
    "readMessages": False,
    "readStatus": False,
    "alwaysOnline": False,
    "syncFullHistory": False,
    "groupsIgnore": True,
}
# Fields of a built-in Typebot bot row that its update accepts back.
TYPEBOT_FIELDS = (
    "description",
    "url",
    "typebot",
    "expire",
    "keywordFinish",
    "delayMessage",
    "unknownMessage",
    "listeningFromMe",
    "stopBotFromMe",
    "keepOpen",
    "debounceTime",
    "triggerType",
    "triggerOperator",
    "triggerValue",
    "ignoreJids",
    "splitMessages",
    "timePerChar",
)


def webhook_drift(row: dict[str, Any], targets: Targets) -> list[str]:
    """Names of what differs in the stored webhook row; never the secret itself."""
    drift = []
    if not row.get("enabled"):
        drift.append("disabled")
    if row.get("url") != targets.evolution_webhook_url:
        drift.append("url")
    headers = row.get("headers") if isinstance(row.get("headers"), dict) else {}
    given = str((headers or {}).get(SECRET_HEADER, ""))
    wanted = targets.evolution_webhook_secret.get_secret_value()
    if not hmac.compare_digest(given.encode(), wanted.encode()):
        drift.append(f"{SECRET_HEADER} header")
    if sorted(row.get("events") or []) != sorted(BRIDGE_WEBHOOK_EVENTS):
        drift.append("events")
    if row.get("webhookByEvents", row.get("byEvents")):
        drift.append("byEvents on")
    if row.get("webhookBase64", row.get("base64")):
        drift.append("base64 on")
    return drift


async def _plan_webhook(plan: Plan, targets: Targets, evo: EvolutionClient) -> None:
    instance = targets.evolution_instance
    target = f"{instance}: webhook"
    row = await evo.find_webhook(instance)
    drift = webhook_drift(row, targets)
    if not drift:
        plan.keep(
            SYSTEM, target, f"{targets.evolution_webhook_url}, {len(BRIDGE_WEBHOOK_EVENTS)} events"
        )
        return

    async def apply() -> None:
        secret = targets.evolution_webhook_secret.get_secret_value()
        await evo.set_webhook(
            instance, targets.evolution_webhook_url, headers={SECRET_HEADER: secret}
        )

    if row.get("url"):
        plan.change("update", SYSTEM, target, ", ".join(drift), apply)
    else:
        plan.change("create", SYSTEM, target, targets.evolution_webhook_url, apply)


async def _plan_settings(plan: Plan, targets: Targets, evo: EvolutionClient) -> None:
    instance = targets.evolution_instance
    target = f"{instance}: settings"
    current = await evo.find_settings(instance)
    drift = [k for k, v in WANTED_SETTINGS.items() if bool(current.get(k)) != v]
    if not drift:
        plan.keep(
            SYSTEM,
            target,
            "readMessages/readStatus/alwaysOnline/syncFullHistory off, groupsIgnore on",
        )
        return

    async def apply() -> None:
        await evo.set_settings(
            instance,
            reject_call=bool(current.get("rejectCall", False)),
            msg_call=str(current.get("msgCall") or ""),
        )

    plan.change("update", SYSTEM, target, ", ".join(drift), apply)


async def _plan_chatwoot_integration(plan: Plan, targets: Targets, evo: EvolutionClient) -> None:
    instance = targets.evolution_instance
    target = f"{instance}: built-in Chatwoot"
    row = await evo.find_chatwoot(instance)
    if row is None:
        plan.keep(SYSTEM, target, "disabled on the server (CHATWOOT_ENABLED=false)")
        return
    if not row.get("enabled"):
        plan.keep(SYSTEM, target, "off")
        return
    # Echo the stored connection fields back (the schema wants them non-empty) with enabled off.
    body = {
        "enabled": False,
        "accountId": str(row.get("accountId") or "0"),
        "token": str(row.get("token") or "disabled"),
        "url": str(row.get("url") or "http://disabled.invalid"),
        "signMsg": False,
        "reopenConversation": False,
        "conversationPending": False,
        "autoCreate": False,
    }

    async def apply() -> None:
        await evo.set_chatwoot(instance, body)

    plan.change("update", SYSTEM, target, "enabled → off (the bridge owns Chatwoot)", apply)


async def _plan_typebots(plan: Plan, targets: Targets, evo: EvolutionClient) -> None:
    instance = targets.evolution_instance
    target = f"{instance}: built-in Typebot"
    bots = await evo.find_typebots(instance)
    if bots is None:
        plan.keep(SYSTEM, target, "disabled on the server (TYPEBOT_ENABLED=false)")
        return
    enabled = [b for b in bots if b.get("enabled") and b.get("id")]
    if not enabled:
        plan.keep(SYSTEM, target, f"off ({len(bots)} bot(s), none enabled)")
        return
    for bot in enabled:
        bot_id = str(bot["id"])
        body = {k: bot[k] for k in TYPEBOT_FIELDS if k in bot and bot[k] is not None}
        body["enabled"] = False

        async def apply(bot_id: str = bot_id, body: dict[str, Any] = body) -> None:
            await evo.update_typebot(instance, bot_id, body)

        plan.change(
            "update",
            SYSTEM,
            f"{target} {bot_id}",
            "enabled → off (the bridge calls Typebot)",
            apply,
        )


async def plan_evolution(plan: Plan, targets: Targets, evo: EvolutionClient) -> None:
    await _plan_webhook(plan, targets, evo)
    await _plan_settings(plan, targets, evo)
    await _plan_chatwoot_integration(plan, targets, evo)
    await _plan_typebots(plan, targets, evo)
