"""Mailcow API client: mailbox lifecycle and the lookups needed to reconcile (200 on error)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from bridge.clients.base import UpstreamHttp
from bridge.clock import Clock
from bridge.errors import PayloadError, PermanentDeliveryError
from bridge.schemas.base import UpstreamModel
from bridge.schemas.mailcow import (
    MailcowAlias,
    MailcowDomain,
    MailcowEntry,
    MailcowMailbox,
    MailcowPasswordPolicy,
    parse_mailcow_entries,
    parse_mailcow_object,
)

M = TypeVar("M", bound=UpstreamModel)
MailboxActive = Literal["0", "1", "2"]  # 2 = no login, mail still accepted
AttrValue = str | int | Sequence[str]

_MAILBOX = TypeAdapter(MailcowMailbox)
_ALIAS = TypeAdapter(MailcowAlias)
_DOMAIN = TypeAdapter(MailcowDomain)
_POLICY = TypeAdapter(MailcowPasswordPolicy)


class MailcowError(PermanentDeliveryError):
    """A `danger`/`error` answer (HTTP 200). `msg_key` e.g. `object_exists`, `access_denied`.

    `access_denied` also means "no such mailbox/domain": callers confirm with a GET.
    """

    def __init__(self, message: str, *, msg_key: str, msg_args: tuple[str, ...] = ()) -> None:
        super().__init__(message, status=200)
        self.msg_key = msg_key
        self.msg_args = msg_args


class MailcowClient:
    """`X-API-Key` header auth; use the read-write key for add/edit/delete."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_s: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self._http = UpstreamHttp(
            system="mailcow",
            base_url=base_url,
            headers={"X-API-Key": api_key},
            secrets=(api_key,),
            transport=transport,
            timeout_s=timeout_s,
            clock=clock,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _write(
        self, path: str, body: Any, *, expect: str, redact_values: Sequence[str] = ()
    ) -> list[MailcowEntry]:
        response = await self._http.request("POST", path, json=body, redact_values=redact_values)
        entries = self._http.parse(response, TypeAdapter(Any), redact_values=redact_values)
        try:
            parsed = parse_mailcow_entries(entries)
        except PayloadError:
            raise PermanentDeliveryError(
                f"mailcow POST {path}: answer does not fit the result envelope", status=200
            ) from None
        failure = next((e for e in parsed if e.is_failure), None)
        if failure is not None:
            args = failure.msg_args
            raise MailcowError(
                f"mailcow POST {path}: {failure.type} {failure.msg_key} {' '.join(args)}".rstrip(),
                msg_key=failure.msg_key,
                msg_args=args,
            )
        if not any(e.type == "success" and e.msg_key == expect for e in parsed):
            keys = ", ".join(f"{e.type}:{e.msg_key}" for e in parsed) or "no entries"
            raise PermanentDeliveryError(
                f"mailcow POST {path}: expected success {expect}, got {keys}", status=200
            )
        return parsed

    async def add_mailbox(
        self,
        *,
        local_part: str,
        domain: str,
        name: str,
        password: str,
        quota_mb: int,
        active: MailboxActive = "1",
        force_pw_update: bool = False,
        tags: Sequence[str] = (),
    ) -> list[MailcowEntry]:
        """`POST /api/v1/add/mailbox`; `quota` is always sent (missing = unlimited)."""
        body: dict[str, Any] = {
            "local_part": local_part,
            "domain": domain,
            "name": name,
            "password": password,
            "password2": password,
            "quota": quota_mb,
            "active": active,
            "force_pw_update": "1" if force_pw_update else "0",
            "tls_enforce_in": "1",
            "tls_enforce_out": "1",
            "authsource": "mailcow",
        }
        if tags:
            body["tags"] = list(tags)
        return await self._write(
            "/api/v1/add/mailbox", body, expect="mailbox_added", redact_values=(password,)
        )

    async def edit_mailbox(
        self, address: str, attr: Mapping[str, AttrValue], *, redact_values: Sequence[str] = ()
    ) -> list[MailcowEntry]:
        """`POST /api/v1/edit/mailbox` `{items, attr}`, e.g. `{"active": "0"}` to deactivate."""
        body = {
            "items": [address],
            "attr": {k: list(v) if isinstance(v, list | tuple) else v for k, v in attr.items()},
        }
        secrets = tuple(redact_values) + tuple(
            str(attr[k]) for k in ("password", "password2") if k in attr
        )
        return await self._write(
            "/api/v1/edit/mailbox", body, expect="mailbox_modified", redact_values=secrets
        )

    async def delete_mailbox(self, addresses: Sequence[str]) -> list[MailcowEntry]:
        """`POST /api/v1/delete/mailbox`: the body is a bare JSON list (the spec's {items} is
        wrong: the code reads the raw body as the list)."""
        return await self._write(
            "/api/v1/delete/mailbox", list(addresses), expect="mailbox_removed"
        )

    async def _get(self, path: str) -> Any:
        response = await self._http.request("GET", path)
        if not response.content.strip():
            # An empty 200 means the request was not authenticated at all.
            raise PermanentDeliveryError(f"mailcow GET {path}: empty answer", status=200)
        return self._http.json_body(response)

    async def get_mailbox(self, address: str) -> MailcowMailbox | None:
        """None when Mailcow answers `{}` (missing or not accessible)."""
        raw = await self._get(f"/api/v1/get/mailbox/{quote(address, safe='@')}")
        return self._object(_MAILBOX, raw, "get/mailbox")

    async def get_alias(self, address: str) -> MailcowAlias | None:
        raw = await self._get(f"/api/v1/get/alias/{quote(address, safe='@')}")
        return self._object(_ALIAS, raw, "get/alias")

    async def get_domain(self, domain: str) -> MailcowDomain | None:
        raw = await self._get(f"/api/v1/get/domain/{quote(domain, safe='')}")
        return self._object(_DOMAIN, raw, "get/domain")

    async def get_password_policy(self) -> MailcowPasswordPolicy:
        """`GET /api/v1/get/passwordpolicy` (exists in code, missing from the spec)."""
        raw = await self._get("/api/v1/get/passwordpolicy")
        policy = self._object(_POLICY, raw, "get/passwordpolicy")
        return policy if policy is not None else MailcowPasswordPolicy()

    @staticmethod
    def _object(adapter: TypeAdapter[M], raw: Any, what: str) -> M | None:
        if isinstance(raw, list) and len(raw) == 1:
            raw = raw[0]
        try:
            return parse_mailcow_object(adapter, raw)
        except PayloadError:
            raise PermanentDeliveryError(
                f"mailcow {what}: answer does not fit the expected model", status=200
            ) from None
