"""Chatwoot platform API client (platform-app token): staff users, account access and SSO links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import httpx
from pydantic import TypeAdapter

from bridge.clients.base import UpstreamHttp
from bridge.clients.http import UpstreamResponse
from bridge.clock import Clock
from bridge.schemas.chatwoot_api import CwAccountUser, CwLoginLink, CwPlatformUser

CwRole = Literal["agent", "administrator"]

_USER = TypeAdapter(CwPlatformUser)
_ACCOUNT_USER = TypeAdapter(CwAccountUser)
_LOGIN = TypeAdapter(CwLoginLink)


class ChatwootPlatformClient:
    """Acts only on users/accounts this platform app created or adopted (permissibles)."""

    def __init__(
        self,
        *,
        base_url: str,
        platform_token: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self._http = UpstreamHttp(
            system="chatwoot-platform",
            base_url=base_url,
            headers={"api_access_token": platform_token},
            secrets=(platform_token,),
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_user(
        self,
        *,
        name: str,
        email: str,
        password: str,
        display_name: str | None = None,
        custom_attributes: Mapping[str, Any] | None = None,
    ) -> CwPlatformUser:
        """Creates a confirmed user (no email sent). If the email exists, Chatwoot returns that
        user unchanged and grants this app access: create and adopt are the same call."""
        body: dict[str, Any] = {"name": name, "email": email, "password": password}
        if display_name:
            body["display_name"] = display_name
        if custom_attributes:
            body["custom_attributes"] = dict(custom_attributes)
        response = await self._http.request(
            "POST", "/platform/api/v1/users", json=body, redact_values=(password,)
        )
        return self._http.parse(response, _USER, redact_values=(password,))

    async def get_user(self, user_id: int) -> CwPlatformUser:
        response = await self._http.request("GET", f"/platform/api/v1/users/{int(user_id)}")
        return self._http.parse(response, _USER)

    async def create_account_user(
        self, account_id: int, user_id: int, role: CwRole
    ) -> CwAccountUser:
        """Upsert of the user's role in the account (a user without one sees a blank app)."""
        body = {"user_id": int(user_id), "role": role}
        path = f"/platform/api/v1/accounts/{int(account_id)}/account_users"
        response = await self._http.request("POST", path, json=body)
        return self._http.parse(response, _ACCOUNT_USER)

    async def delete_account_user(self, account_id: int, user_id: int) -> None:
        """Removes the user's access to the account (the user record stays)."""
        path = f"/platform/api/v1/accounts/{int(account_id)}/account_users"
        # DELETE with a JSON body: Chatwoot reads the user id from the body, not the URL.
        await self._http.request("DELETE", path, json={"user_id": int(user_id)})

    async def get_login_url(self, user_id: int) -> str:
        """One-time SSO URL (token valid 5 minutes, single use). Never log it."""
        path = f"/platform/api/v1/users/{int(user_id)}/login"
        response = await self._http.request("GET", path)
        link = self._http.parse(response, _LOGIN, redact_values=self._url_secret(response))
        return link.url.get_secret_value()

    @staticmethod
    def _url_secret(response: UpstreamResponse) -> tuple[str, ...]:
        try:
            body = response.json()
        except ValueError:
            return ()
        url = body.get("url") if isinstance(body, dict) else None
        return (url,) if isinstance(url, str) else ()
