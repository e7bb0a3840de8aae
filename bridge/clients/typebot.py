"""Typebot chat API client (viewer host): startChat and continueChat, one attempt each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from bridge.clients.base import UpstreamHttp
from bridge.clients.http import UpstreamResponse
from bridge.clock import Clock
from bridge.errors import PermanentDeliveryError
from bridge.schemas.typebot import TbContinueChatResponse, TbStartChatResponse

TextBubbleFormat = Literal["markdown", "richText"]

_START = TypeAdapter(TbStartChatResponse)
_CONTINUE = TypeAdapter(TbContinueChatResponse)


class TypebotSessionGone(PermanentDeliveryError):
    """continueChat 404: the session ended (flow completed), expired or never existed.

    The caller starts a new session instead of retrying.
    """


def _session_gone(response: UpstreamResponse) -> bool:
    # A JSON 404 naming the session; an unknown route is a plain-text "Not found" (misconfig).
    if response.status_code != 404:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    message = body.get("message") if isinstance(body, dict) else None
    return isinstance(message, str) and "session" in message.lower()


class TypebotClient:
    """Published bots need no auth; `api_token` (Bearer) only for private/preview use."""

    def __init__(
        self,
        *,
        base_url: str,
        api_token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
        self._http = UpstreamHttp(
            system="typebot",
            base_url=base_url,
            headers=headers,
            secrets=(api_token,) if api_token else (),
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def start_chat(
        self,
        public_id: str,
        prefilled_variables: Mapping[str, str],
        *,
        text_bubble_content_format: TextBubbleFormat = "markdown",
    ) -> TbStartChatResponse:
        """`POST /api/v1/typebots/{publicId}/startChat`; unknown variable names are ignored."""
        body: dict[str, Any] = {
            "prefilledVariables": dict(prefilled_variables),
            "textBubbleContentFormat": text_bubble_content_format,
            "isStreamEnabled": False,
        }
        path = f"/api/v1/typebots/{quote(public_id, safe='')}/startChat"
        response = await self._http.request("POST", path, json=body)
        return self._http.parse(response, _START)

    async def continue_chat(
        self,
        session_id: str,
        message: str,
        *,
        reply_id: str | None = None,
        text_bubble_content_format: TextBubbleFormat = "markdown",
    ) -> TbContinueChatResponse:
        """`POST /api/v1/sessions/{sessionId}/continueChat`.

        For a choice, send the item's content as `text` and its id as `metadata.replyId`
        (v3.11+ matches the id; older servers match the exact, case-sensitive content).
        """
        text_message: dict[str, Any] = {"type": "text", "text": message}
        if reply_id:
            text_message["metadata"] = {"replyId": reply_id}
        body = {"message": text_message, "textBubbleContentFormat": text_bubble_content_format}
        # The session id acts as a bearer secret: keep it out of error messages.
        path = f"/api/v1/sessions/{quote(session_id, safe='')}/continueChat"
        response = await self._http.request(
            "POST", path, json=body, raise_for_status=False, redact_values=(session_id,)
        )
        if response.is_success:
            return self._http.parse(response, _CONTINUE, redact_values=(session_id,))
        error = self._http.failure(response, f"POST {path}", (session_id,))
        if _session_gone(response):
            raise TypebotSessionGone(str(error), status=404) from None
        raise error
