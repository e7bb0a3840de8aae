"""Mailcow API response envelopes: `[{type, log, msg}]` (or one `{type, msg}`), and `get/*` objects.

Mailcow answers HTTP 200 for business errors, so success is read from the entries (README rule 4).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field, TypeAdapter

from bridge.schemas.base import LongInt, UpstreamModel, validate_payload

M = TypeVar("M", bound=UpstreamModel)


class MailcowEntry(UpstreamModel):
    """One result entry; `msg` is `"key"` or `["key", arg, …]`; `log` (request echo) is dropped."""

    type: str
    msg: str | list[Any] = ""

    @property
    def msg_key(self) -> str:
        if isinstance(self.msg, list):
            return str(self.msg[0]) if self.msg else ""
        return self.msg

    @property
    def msg_args(self) -> tuple[str, ...]:
        return tuple(str(a) for a in self.msg[1:]) if isinstance(self.msg, list) else ()

    @property
    def is_failure(self) -> bool:
        return self.type in ("danger", "error")


_ENTRIES = TypeAdapter(list[MailcowEntry])


def parse_mailcow_entries(raw: Any) -> list[MailcowEntry]:
    """Accept the array form and the single-object form of add/edit/delete answers."""
    entries: list[MailcowEntry] = validate_payload(
        _ENTRIES, [raw] if isinstance(raw, dict) else raw, source="mailcow"
    )
    return entries


def _flag(value: Any) -> Any:
    """Mailcow returns flags as "1", 1 or true depending on version."""
    if isinstance(value, bool):
        return int(value)
    return value


Flag = Annotated[LongInt, BeforeValidator(_flag)]


class MailcowMailbox(UpstreamModel):
    """`get/mailbox/{address}`; `quota` is in bytes here (add/edit take MiB)."""

    username: str = Field(min_length=1)
    active: Flag | None = None
    name: str | None = None
    domain: str | None = None
    local_part: str | None = None
    quota: LongInt | None = None
    tags: list[str] = Field(default_factory=list)


class MailcowAlias(UpstreamModel):
    id: LongInt
    address: str
    goto: str | None = None
    active: Flag | None = None


class MailcowDomain(UpstreamModel):
    domain_name: str = Field(min_length=1)
    active: Flag | None = None
    max_num_mboxes_for_domain: LongInt | None = None
    mboxes_in_domain: LongInt | None = None


class MailcowPasswordPolicy(UpstreamModel):
    """`get/passwordpolicy` (not in the spec); values arrive as strings."""

    length: LongInt = 6
    chars: Flag = 0
    special_chars: Flag = 0
    lowerupper: Flag = 0
    numbers: Flag = 0


def parse_mailcow_object(adapter: TypeAdapter[M], raw: Any) -> M | None:
    """`get/*` single object, or None for Mailcow's "not found" answer `{}` (also `[]`)."""
    if raw in ({}, []):
        return None
    return validate_payload(adapter, raw, source="mailcow")
