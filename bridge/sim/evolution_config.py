"""Evolution instance configuration routes: webhook, settings, instance list and root."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bridge.sim.evolution_http import evo_error, missing_props
from bridge.sim.evolution_state import STATE_KEY, EvolutionInstance
from bridge.sim.evolution_webhooks import WebhookConfig

VERSION = "2.3.7"
EVENTS = frozenset(
    [
        "APPLICATION_STARTUP",
        "QRCODE_UPDATED",
        "MESSAGES_SET",
        "MESSAGES_UPSERT",
        "MESSAGES_EDITED",
        "MESSAGES_UPDATE",
        "MESSAGES_DELETE",
        "SEND_MESSAGE",
        "SEND_MESSAGE_UPDATE",
        "CONTACTS_SET",
        "CONTACTS_UPSERT",
        "CONTACTS_UPDATE",
        "PRESENCE_UPDATE",
        "CHATS_SET",
        "CHATS_UPSERT",
        "CHATS_UPDATE",
        "CHATS_DELETE",
        "GROUPS_UPSERT",
        "GROUP_UPDATE",
        "GROUP_PARTICIPANTS_UPDATE",
        "CONNECTION_UPDATE",
        "LABELS_EDIT",
        "LABELS_ASSOCIATION",
        "CALL",
        "TYPEBOT_START",
        "TYPEBOT_CHANGE_STATUS",
        "REMOVE_INSTANCE",
        "LOGOUT_INSTANCE",
        "INSTANCE_CREATE",
        "INSTANCE_DELETE",
        "STATUS_INSTANCE",
    ]
)
SETTINGS_REQUIRED = (
    "rejectCall",
    "groupsIgnore",
    "alwaysOnline",
    "readMessages",
    "readStatus",
    "syncFullHistory",
)


def _webhook_row(inst: EvolutionInstance) -> dict[str, Any]:
    w = inst.webhook
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "id": inst.webhook_row_id,
        "url": w.url,
        "headers": w.headers,
        "enabled": w.enabled,
        "events": w.events,
        "webhookByEvents": w.by_events,
        "webhookBase64": w.base64,
        "createdAt": now,
        "updatedAt": now,
        "instanceId": inst.instance_id,
    }


async def set_webhook(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    if (err := missing_props(body, "webhook")) is not None:
        return err
    hook = body["webhook"]
    if not isinstance(hook, dict):
        return evo_error(400, ["instance.webhook is not of a type(s) object"])
    if (err := missing_props(hook, "enabled", "url")) is not None:
        return err
    events = hook.get("events") or []
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        return evo_error(
            400,
            [
                f"instance.webhook.events[{events.index(e)}] is not one of enum values"
                for e in unknown
            ],
        )
    enabled = bool(hook["enabled"])
    inst.webhook = WebhookConfig(
        enabled=enabled,
        url=str(hook["url"]),
        headers={str(k): str(v) for k, v in (hook.get("headers") or {}).items()},
        by_events=bool(hook.get("byEvents", False)),
        base64=bool(hook.get("base64", False)),
        events=list(events) if enabled else [],
    )
    return web.json_response(_webhook_row(inst), status=201)


async def find_webhook(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    return web.json_response(_webhook_row(inst) if inst.webhook.url else None)


async def set_settings(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    if (err := missing_props(body, *SETTINGS_REQUIRED)) is not None:
        return err
    inst.settings.update({k: body[k] for k in inst.settings if k in body})
    return web.json_response(
        {
            "settings": {
                "instanceName": inst.name,
                "instanceId": inst.instance_id,
                "settings": inst.settings,
            }
        },
        status=201,
    )


async def find_settings(
    request: web.Request, inst: EvolutionInstance, body: dict[str, Any]
) -> web.Response:
    return web.json_response(inst.settings)


def _instance_row(inst: EvolutionInstance) -> dict[str, Any]:
    return {
        "id": inst.instance_id,
        "name": inst.name,
        "connectionStatus": "open",
        "ownerJid": inst.owner_jid,
        "profileName": "MM All Electronics",
        "profilePicUrl": None,
        "integration": "WHATSAPP-BAILEYS",
        "number": inst.owner_jid.split("@")[0],
        "token": inst.token,
        "clientName": "evolution_exchange",
        "Setting": inst.settings,
        "_count": {"Message": 0, "Contact": 0, "Chat": 0},
    }


async def fetch_instances(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    given = request.headers.get("apikey", "")
    if given and hmac.compare_digest(given, state.api_key):
        return web.json_response([_instance_row(i) for i in state.instances.values()])
    mine = [i for i in state.instances.values() if given and hmac.compare_digest(given, i.token)]
    if not mine:
        return evo_error(401, "Unauthorized")
    return web.json_response([_instance_row(i) for i in mine])


async def root(request: web.Request) -> web.Response:
    server = request.app[STATE_KEY].server_url
    return web.json_response(
        {
            "status": 200,
            "message": "Welcome to the Evolution API, it is working!",
            "version": VERSION,
            "clientName": "evolution_exchange",
            "manager": f"{server}/manager",
            "documentation": "https://doc.evolution-api.com",
            "whatsappWebVersion": "2.3000.1023204200",
        }
    )
