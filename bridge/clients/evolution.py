"""Evolution API v2 client: sends, read receipts, media download, webhook and settings setup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from bridge.clients.base import UpstreamHttp
from bridge.clients.http import UpstreamResponse
from bridge.clock import Clock
from bridge.errors import RetryableDeliveryError
from bridge.schemas.evolution_api import EvoMediaBase64, EvoReadResult, EvoSendResult

EvoMediaType = Literal["image", "video", "document", "audio"]

BRIDGE_WEBHOOK_EVENTS = (
    "MESSAGES_UPSERT",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "MESSAGES_EDITED",
    "SEND_MESSAGE",
    "CONNECTION_UPDATE",
)

_SEND = TypeAdapter(EvoSendResult)
_HISTORY = TypeAdapter(list[EvoSendResult])
_MEDIA = TypeAdapter(EvoMediaBase64)
_READ = TypeAdapter(EvoReadResult)
# Baileys errors are wrapped as HTTP 400 by sendMessageWithTyping; these are transient.
_TRANSIENT_400 = ("connection closed", "timed out", "connection lost", "stream errored")


@dataclass(frozen=True, slots=True)
class EvoMessageKey:
    """Key of a WhatsApp message: what quoting and read receipts refer to."""

    remote_jid: str
    from_me: bool
    id: str

    def as_json(self) -> dict[str, Any]:
        return {"remoteJid": self.remote_jid, "fromMe": self.from_me, "id": self.id}


def _transient_400(response: UpstreamResponse) -> bool:
    if response.status_code != 400:
        return False
    text = response.text.lower()
    return any(marker in text for marker in _TRANSIENT_400)


class EvolutionClient:
    """`apikey` header auth; the instance name is per call (replies go where the message came)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        # Sends block for `delay` ms before answering: keep the timeout above delay + 30 s.
        self._http = UpstreamHttp(
            system="evolution",
            base_url=base_url,
            headers={"apikey": api_key},
            secrets=(api_key,),
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, path: str, body: Mapping[str, Any]) -> UpstreamResponse:
        response = await self._http.request("POST", path, json=body, raise_for_status=False)
        if response.is_success:
            return response
        error = self._http.failure(response, f"POST {path}")
        if _transient_400(response):
            raise RetryableDeliveryError(str(error), status=400) from None
        raise error

    @staticmethod
    def _path(route: str, instance: str) -> str:
        return f"/{route}/{quote(instance, safe='')}"

    async def send_text(
        self,
        instance: str,
        number: str,
        text: str,
        *,
        delay_ms: int | None = None,
        link_preview: bool | None = None,
        quoted: EvoMessageKey | None = None,
    ) -> EvoSendResult:
        """`POST /message/sendText/{instance}`; `number` may be digits or a full JID (also @lid)."""
        body: dict[str, Any] = {"number": number, "text": text}
        if delay_ms is not None:
            body["delay"] = delay_ms
        if link_preview is not None:
            body["linkPreview"] = link_preview
        if quoted is not None:
            body["quoted"] = {"key": quoted.as_json()}
        response = await self._post(self._path("message/sendText", instance), body)
        return self._http.parse(response, _SEND)

    async def send_media(
        self,
        instance: str,
        number: str,
        *,
        mediatype: EvoMediaType,
        media: str,
        mimetype: str | None = None,
        caption: str | None = None,
        file_name: str | None = None,
        delay_ms: int | None = None,
    ) -> EvoSendResult:
        """`POST /message/sendMedia/{instance}`; `media` is a URL or base64."""
        body: dict[str, Any] = {"number": number, "mediatype": mediatype, "media": media}
        if mimetype:
            body["mimetype"] = mimetype
        if caption:  # an empty caption is rejected with 400 (issue #2517): leave it out
            body["caption"] = caption
        if file_name:
            body["fileName"] = file_name
        if delay_ms is not None:
            body["delay"] = delay_ms
        response = await self._post(self._path("message/sendMedia", instance), body)
        return self._http.parse(response, _SEND)

    async def send_whatsapp_audio(
        self,
        instance: str,
        number: str,
        audio: str,
        *,
        delay_ms: int | None = None,
        encoding: bool = True,
    ) -> EvoSendResult:
        """`POST /message/sendWhatsAppAudio/{instance}`: a voice note (ffmpeg → ogg/opus)."""
        body: dict[str, Any] = {"number": number, "audio": audio, "encoding": encoding}
        if delay_ms is not None:
            body["delay"] = delay_ms
        response = await self._post(self._path("message/sendWhatsAppAudio", instance), body)
        return self._http.parse(response, _SEND)

    async def mark_message_as_read(
        self, instance: str, keys: Sequence[EvoMessageKey]
    ) -> EvoReadResult:
        """`POST /chat/markMessageAsRead/{instance}` (Evolution silently skips `@lid` keys)."""
        body = {"readMessages": [key.as_json() for key in keys]}
        response = await self._post(self._path("chat/markMessageAsRead", instance), body)
        return self._http.parse(response, _READ)

    async def send_interactive(
        self, instance: str, route: Literal["sendButtons", "sendList"], body: Mapping[str, Any]
    ) -> EvoSendResult:
        """`POST /message/sendButtons|sendList/{instance}` with a body built by
        `bridge.render.choices` (delivery of these to phones is unreliable: off by default)."""
        response = await self._post(self._path(f"message/{route}", instance), body)
        return self._http.parse(response, _SEND)

    async def find_messages(
        self, instance: str, remote_jid: str, *, limit: int = 20
    ) -> list[EvoSendResult]:
        """The chat's latest messages, newest first (`POST /chat/findMessages`; needs
        DATABASE_SAVE_DATA_NEW_MESSAGE=true on the Evolution side)."""
        body = {"where": {"key": {"remoteJid": remote_jid}}, "page": 1, "offset": limit}
        response = await self._post(self._path("chat/findMessages", instance), body)
        payload = self._http.json_body(response)
        messages = payload.get("messages") if isinstance(payload, dict) else None
        records = messages.get("records") if isinstance(messages, dict) else payload
        return self._http.parse(
            response, _HISTORY, raw=records if isinstance(records, list) else []
        )

    async def get_base64_from_media_message(
        self, instance: str, wa_message_id: str, *, convert_to_mp4: bool = False
    ) -> EvoMediaBase64:
        """Id-only lookup: needs DATABASE_SAVE_DATA_NEW_MESSAGE=true on the Evolution side."""
        body = {"message": {"key": {"id": wa_message_id}}, "convertToMp4": convert_to_mp4}
        response = await self._post(self._path("chat/getBase64FromMediaMessage", instance), body)
        return self._http.parse(response, _MEDIA)

    async def set_webhook(
        self,
        instance: str,
        url: str,
        *,
        headers: Mapping[str, str],
        events: Sequence[str] = BRIDGE_WEBHOOK_EVENTS,
        enabled: bool = True,
        by_events: bool = False,
        base64: bool = False,
    ) -> dict[str, Any]:
        """`POST /webhook/set/{instance}` with the nested `webhook` body (the flat form is v1)."""
        body = {
            "webhook": {
                "enabled": enabled,
                "url": url,
                "headers": dict(headers),
                "byEvents": by_events,
                "base64": base64,
                "events": list(events),
            }
        }
        # The headers carry the bridge's webhook secret: scrub it from any error text too.
        response = await self._http.request(
            "POST", self._path("webhook/set", instance), json=body, redact_values=headers.values()
        )
        return self._json_object(response)

    async def set_settings(
        self,
        instance: str,
        *,
        reject_call: bool = False,
        msg_call: str = "",
        groups_ignore: bool = True,
        always_online: bool = False,
        read_messages: bool = False,
        read_status: bool = False,
        sync_full_history: bool = False,
    ) -> dict[str, Any]:
        """`POST /settings/set/{instance}`; readMessages off so agents see unread chats."""
        body = {
            "rejectCall": reject_call,
            "msgCall": msg_call,
            "groupsIgnore": groups_ignore,
            "alwaysOnline": always_online,
            "readMessages": read_messages,
            "readStatus": read_status,
            "syncFullHistory": sync_full_history,
        }
        response = await self._post(self._path("settings/set", instance), body)
        return self._json_object(response)

    # --- read-back and built-in integrations (`bridge setup` / `bridge verify`) ----------
    async def get_info(self) -> dict[str, Any]:
        """`GET /`: `{"status", "message", "version", ...}`."""
        return self._json_object(await self._http.request("GET", "/"))

    async def fetch_instances(self) -> list[dict[str, Any]]:
        response = await self._http.request("GET", "/instance/fetchInstances")
        return self._http.parse(response, TypeAdapter(list[dict[str, Any]]))

    async def find_webhook(self, instance: str) -> dict[str, Any]:
        """The stored webhook row (`url`, `headers`, `events`, `webhookByEvents`...); {} if none."""
        response = await self._http.request("GET", self._path("webhook/find", instance))
        return self._json_object_or_empty(response)

    async def find_settings(self, instance: str) -> dict[str, Any]:
        response = await self._http.request("GET", self._path("settings/find", instance))
        return self._json_object_or_empty(response)

    async def find_chatwoot(self, instance: str) -> dict[str, Any] | None:
        """The built-in Chatwoot integration row; None when the server has it disabled."""
        response = await self._find_integration(self._path("chatwoot/find", instance))
        if response is None:
            return None
        body = self._http.json_body(response)
        return self._http.parse(response, TypeAdapter(dict[str, Any]), raw=body or {})

    async def set_chatwoot(self, instance: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /chatwoot/set/{instance}` (required: enabled, accountId, token, url, signMsg,
        reopenConversation, conversationPending)."""
        token = body.get("token")
        response = await self._http.request(
            "POST",
            self._path("chatwoot/set", instance),
            json=dict(body),
            redact_values=(token,) if isinstance(token, str) and token else (),
        )
        return self._json_object(response)

    async def find_typebots(self, instance: str) -> list[dict[str, Any]] | None:
        """The built-in Typebot bots of the instance; None when the server has Typebot off."""
        response = await self._find_integration(self._path("typebot/find", instance))
        if response is None:
            return None
        body = self._http.json_body(response)
        return self._http.parse(response, TypeAdapter(list[dict[str, Any]]), raw=body or [])

    async def update_typebot(
        self, instance: str, typebot_id: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        path = f"/typebot/update/{quote(typebot_id, safe='')}/{quote(instance, safe='')}"
        return self._json_object(await self._http.request("PUT", path, json=dict(body)))

    async def _find_integration(self, path: str) -> UpstreamResponse | None:
        response = await self._http.request("GET", path, raise_for_status=False)
        if response.status_code == 400 and "is disabled" in response.text:
            return None  # CHATWOOT_ENABLED / TYPEBOT_ENABLED=false on the Evolution server
        if not response.is_success:
            raise self._http.failure(response, f"GET {path}")
        return response

    def _json_object_or_empty(self, response: UpstreamResponse) -> dict[str, Any]:
        body = self._http.json_body(response)
        return {} if body is None else self._http.parse(response, TypeAdapter(dict[str, Any]))

    def _json_object(self, response: UpstreamResponse) -> dict[str, Any]:
        return self._http.parse(response, TypeAdapter(dict[str, Any]))
