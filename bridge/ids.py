"""Typed identifiers: each names the system it belongs to, so ids cannot be mixed up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

InstanceName = NewType("InstanceName", str)
WaJid = NewType("WaJid", str)
WaMessageId = NewType("WaMessageId", str)
CwContactId = NewType("CwContactId", int)
CwConversationId = NewType("CwConversationId", int)
CwMessageId = NewType("CwMessageId", int)
CwInboxId = NewType("CwInboxId", int)
TbSessionId = NewType("TbSessionId", str)


@dataclass(frozen=True, slots=True)
class ContactKey:
    """A WhatsApp contact as seen by one Evolution instance."""

    instance: InstanceName
    wa_jid: WaJid

    def __str__(self) -> str:
        return f"{self.instance}/{self.wa_jid}"
