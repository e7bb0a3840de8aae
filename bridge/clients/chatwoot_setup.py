"""Chatwoot application API, setup side: inboxes, teams, members, agent bots, automations, webhooks.

Base class of ChatwootClient; `bridge setup` and provisioning use these, flows do not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import TypeAdapter

from bridge.clients.base import UpstreamHttp
from bridge.clients.http import UpstreamResponse
from bridge.clock import Clock
from bridge.schemas.chatwoot_api import (
    CwAccountInfo,
    CwAgent,
    CwAgentBot,
    CwAutomationRule,
    CwInbox,
    CwProfile,
    CwTeam,
    CwVersionInfo,
    CwWebhook,
)


class CwInboxDetail(CwInbox):
    """An inbox with its email-channel settings (passwords are never read into the model)."""

    email: str | None = None
    imap_enabled: bool | None = None
    imap_address: str | None = None
    imap_port: int | None = None
    imap_login: str | None = None
    imap_enable_ssl: bool | None = None
    smtp_enabled: bool | None = None
    smtp_address: str | None = None
    smtp_port: int | None = None
    smtp_login: str | None = None
    smtp_enable_starttls_auto: bool | None = None
    smtp_enable_ssl_tls: bool | None = None


_INBOXES = TypeAdapter(list[CwInbox])
_INBOX_DETAILS = TypeAdapter(list[CwInboxDetail])
_AGENTS = TypeAdapter(list[CwAgent])
_TEAMS = TypeAdapter(list[CwTeam])
_BOTS = TypeAdapter(list[CwAgentBot])
_RULES = TypeAdapter(list[CwAutomationRule])
_WEBHOOKS = TypeAdapter(list[CwWebhook])


def unwrap_payload(body: Any) -> Any:
    """Several endpoints wrap results in `{"payload": …}`; others answer bare."""
    return body.get("payload", body) if isinstance(body, dict) else body


class ChatwootSetupApi:
    """`api_access_token` of an administrator (inbox/bot secrets are shown to admins only)."""

    def __init__(
        self,
        *,
        base_url: str,
        api_token: str,
        account_id: int,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self._http = UpstreamHttp(
            system="chatwoot",
            base_url=base_url,
            headers={"api_access_token": api_token},
            secrets=(api_token,),
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
        )
        self._account = f"/api/v1/accounts/{int(account_id)}"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> UpstreamResponse:
        return await self._http.request(method, path, **kwargs)

    async def _parsed(self, adapter: TypeAdapter[Any], method: str, path: str, **kw: Any) -> Any:
        response = await self._call(method, path, **kw)
        return self._http.parse(
            response, adapter, raw=unwrap_payload(self._http.json_body(response))
        )

    # --- account -------------------------------------------------------------------------
    async def get_account(self) -> CwAccountInfo:
        response = await self._call("GET", self._account)
        return self._http.parse(response, TypeAdapter(CwAccountInfo))

    async def get_profile(self) -> CwProfile:
        """`GET /api/v1/profile`: whose token this is (check its role is administrator)."""
        response = await self._call("GET", "/api/v1/profile")
        return self._http.parse(response, TypeAdapter(CwProfile))

    async def get_version(self) -> CwVersionInfo:
        """`GET /api` (not in the swagger) answers `{"version": …}` without auth."""
        response = await self._call("GET", "/api")
        return self._http.parse(response, TypeAdapter(CwVersionInfo))

    # --- inboxes ------------------------------------------------------------------------
    async def list_inboxes(self) -> list[CwInbox]:
        result: list[CwInbox] = await self._parsed(_INBOXES, "GET", f"{self._account}/inboxes")
        return result

    async def list_inbox_details(self) -> list[CwInboxDetail]:
        """Like `list_inboxes`, with the email channels' IMAP/SMTP settings."""
        path = f"{self._account}/inboxes"
        result: list[CwInboxDetail] = await self._parsed(_INBOX_DETAILS, "GET", path)
        return result

    async def create_email_inbox(
        self, name: str, channel: Mapping[str, Any], *, password: str
    ) -> CwInboxDetail:
        """`channel`: email, imap_*/smtp_* settings (§h); `password` is set for IMAP and SMTP
        and scrubbed from every error message."""
        body = {
            "name": name,
            "channel": {
                **channel,
                "type": "email",
                "imap_password": password,
                "smtp_password": password,
            },
        }
        path = f"{self._account}/inboxes"
        response = await self._http.request("POST", path, json=body, redact_values=(password,))
        return self._http.parse(response, TypeAdapter(CwInboxDetail), redact_values=(password,))

    async def update_inbox_channel(
        self, inbox_id: int, channel: Mapping[str, Any], *, password: str | None = None
    ) -> CwInboxDetail:
        """`PATCH inboxes/{id}` with only `channel` attributes (e.g. corrected IMAP settings);
        `password`, when given, replaces the IMAP and SMTP passwords."""
        body = dict(channel)
        secrets: tuple[str, ...] = ()
        if password is not None:
            body.update(imap_password=password, smtp_password=password)
            secrets = (password,)
        path = f"{self._account}/inboxes/{int(inbox_id)}"
        response = await self._http.request(
            "PATCH", path, json={"channel": body}, redact_values=secrets
        )
        return self._http.parse(response, TypeAdapter(CwInboxDetail), redact_values=secrets)

    async def get_inbox(self, inbox_id: int) -> CwInbox:
        response = await self._call("GET", f"{self._account}/inboxes/{int(inbox_id)}")
        return self._http.parse(response, TypeAdapter(CwInbox))

    async def create_api_inbox(
        self,
        name: str,
        webhook_url: str,
        *,
        enable_auto_assignment: bool = True,
        lock_to_single_conversation: bool = False,
        greeting_enabled: bool = False,
    ) -> CwInbox:
        body = {
            "name": name,
            "enable_auto_assignment": enable_auto_assignment,
            "greeting_enabled": greeting_enabled,
            "lock_to_single_conversation": lock_to_single_conversation,
            "channel": {"type": "api", "webhook_url": webhook_url, "hmac_mandatory": False},
        }
        response = await self._call("POST", f"{self._account}/inboxes", json=body)
        return self._http.parse(response, TypeAdapter(CwInbox))

    async def update_inbox(
        self,
        inbox_id: int,
        *,
        name: str | None = None,
        webhook_url: str | None = None,
        enable_auto_assignment: bool | None = None,
    ) -> CwInbox:
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if enable_auto_assignment is not None:
            body["enable_auto_assignment"] = enable_auto_assignment
        if webhook_url is not None:
            body["channel"] = {"webhook_url": webhook_url}
        path = f"{self._account}/inboxes/{int(inbox_id)}"
        response = await self._call("PATCH", path, json=body)
        return self._http.parse(response, TypeAdapter(CwInbox))

    async def add_inbox_members(self, inbox_id: int, user_ids: Sequence[int]) -> list[CwAgent]:
        body = {"inbox_id": int(inbox_id), "user_ids": [int(u) for u in user_ids]}
        result: list[CwAgent] = await self._parsed(
            _AGENTS, "POST", f"{self._account}/inbox_members", json=body
        )
        return result

    async def list_inbox_members(self, inbox_id: int) -> list[CwAgent]:
        path = f"{self._account}/inbox_members/{int(inbox_id)}"
        result: list[CwAgent] = await self._parsed(_AGENTS, "GET", path)
        return result

    # --- agents and teams ---------------------------------------------------------------
    async def list_agents(self) -> list[CwAgent]:
        """Bare array of all agents, no search: filter by email client-side."""
        result: list[CwAgent] = await self._parsed(_AGENTS, "GET", f"{self._account}/agents")
        return result

    async def update_agent(self, user_id: int, *, auto_offline: bool) -> CwAgent:
        """`PATCH …/agents/{id}`: the platform API's account user has no `auto_offline`."""
        path = f"{self._account}/agents/{int(user_id)}"
        response = await self._call("PATCH", path, json={"auto_offline": auto_offline})
        return self._http.parse(response, TypeAdapter(CwAgent))

    async def list_teams(self) -> list[CwTeam]:
        result: list[CwTeam] = await self._parsed(_TEAMS, "GET", f"{self._account}/teams")
        return result

    async def create_team(
        self, name: str, *, description: str = "", allow_auto_assign: bool = True
    ) -> CwTeam:
        """Chatwoot lower-cases team names; they are unique per account."""
        body = {"name": name, "description": description, "allow_auto_assign": allow_auto_assign}
        response = await self._call("POST", f"{self._account}/teams", json=body)
        return self._http.parse(response, TypeAdapter(CwTeam))

    async def add_team_members(self, team_id: int, user_ids: Sequence[int]) -> list[CwAgent]:
        """Adds the missing ones; answers only the newly added agents."""
        path = f"{self._account}/teams/{int(team_id)}/team_members"
        body = {"user_ids": [int(u) for u in user_ids]}
        result: list[CwAgent] = await self._parsed(_AGENTS, "POST", path, json=body)
        return result

    async def list_team_members(self, team_id: int) -> list[CwAgent]:
        path = f"{self._account}/teams/{int(team_id)}/team_members"
        result: list[CwAgent] = await self._parsed(_AGENTS, "GET", path)
        return result

    # --- agent bots ---------------------------------------------------------------------
    async def list_agent_bots(self) -> list[CwAgentBot]:
        result: list[CwAgentBot] = await self._parsed(_BOTS, "GET", f"{self._account}/agent_bots")
        return result

    async def create_agent_bot(
        self, name: str, outgoing_url: str, *, description: str = ""
    ) -> CwAgentBot:
        body = {"name": name, "description": description, "outgoing_url": outgoing_url}
        response = await self._call("POST", f"{self._account}/agent_bots", json=body)
        return self._http.parse(response, TypeAdapter(CwAgentBot))

    async def set_inbox_agent_bot(self, inbox_id: int, agent_bot_id: int | None) -> None:
        """Attach (or with None detach) the inbox's agent bot; answers 200 with no body."""
        body = {"agent_bot": agent_bot_id}
        path = f"{self._account}/inboxes/{int(inbox_id)}/set_agent_bot"
        await self._call("POST", path, json=body)

    # --- automation rules ---------------------------------------------------------------
    async def list_automation_rules(self) -> list[CwAutomationRule]:
        path = f"{self._account}/automation_rules"
        result: list[CwAutomationRule] = await self._parsed(_RULES, "GET", path)
        return result

    async def create_automation_rule(self, rule: Mapping[str, Any]) -> CwAutomationRule:
        """`rule`: name, description, event_name, active, conditions, actions (§g)."""
        response = await self._call("POST", f"{self._account}/automation_rules", json=dict(rule))
        return self._http.parse(
            response,
            TypeAdapter(CwAutomationRule),
            raw=unwrap_payload(self._http.json_body(response)),
        )

    async def update_automation_rule(
        self, rule_id: int, rule: Mapping[str, Any]
    ) -> CwAutomationRule:
        path = f"{self._account}/automation_rules/{int(rule_id)}"
        response = await self._call("PATCH", path, json=dict(rule))
        return self._http.parse(
            response,
            TypeAdapter(CwAutomationRule),
            raw=unwrap_payload(self._http.json_body(response)),
        )

    # --- account webhooks ---------------------------------------------------------------
    async def list_webhooks(self) -> list[CwWebhook]:
        response = await self._call("GET", f"{self._account}/webhooks")
        body = unwrap_payload(self._http.json_body(response))
        raw = body.get("webhooks") if isinstance(body, dict) else body
        return self._http.parse(response, _WEBHOOKS, raw=raw)

    async def create_webhook(
        self, url: str, subscriptions: Sequence[str], *, name: str = "bridge"
    ) -> CwWebhook:
        body = {"url": url, "name": name, "subscriptions": list(subscriptions)}
        response = await self._call("POST", f"{self._account}/webhooks", json=body)
        return self._webhook(response)

    async def update_webhook(
        self, webhook_id: int, *, url: str, subscriptions: Sequence[str], name: str = "bridge"
    ) -> CwWebhook:
        body = {"url": url, "name": name, "subscriptions": list(subscriptions)}
        path = f"{self._account}/webhooks/{int(webhook_id)}"
        response = await self._call("PATCH", path, json=body)
        return self._webhook(response)

    def _webhook(self, response: UpstreamResponse) -> CwWebhook:
        body = unwrap_payload(self._http.json_body(response))
        raw = body.get("webhook", body) if isinstance(body, dict) else body
        return self._http.parse(response, TypeAdapter(CwWebhook), raw=raw)
