"""Chatwoot per department: WhatsApp API inbox, team, email inbox and its auto-reply rule."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.clients import ChatwootClient, MailcowClient
from bridge.clients.chatwoot_setup import CwInboxDetail
from bridge.errors import ConfigError
from bridge.schemas.chatwoot_api import CwAutomationRule, CwTeam
from bridge.setup.context import DeptState, IdField, Targets
from bridge.setup.mailcow_reconcile import plan_mailbox
from bridge.setup.plan import Plan

SYSTEM = "chatwoot"
API_CHANNEL = "Channel::Api"
EMAIL_CHANNEL = "Channel::Email"
# Compared for drift; passwords are never read back or compared.
EMAIL_COMPARED = (
    "email",
    "imap_enabled",
    "imap_address",
    "imap_port",
    "imap_login",
    "smtp_enabled",
    "smtp_address",
    "smtp_port",
    "smtp_login",
)


def api_inbox_name(dept: DeptState) -> str:
    return f"{dept.department.name} WhatsApp"


def email_inbox_name(dept: DeptState) -> str:
    return f"{dept.department.name} Email"


def rule_name(dept: DeptState) -> str:
    return f"{dept.department.name}: email auto-reply (bridge)"


def email_channel(address: str, targets: Targets) -> dict[str, Any]:
    """Mailcow IMAP (993 = TLS) and submission (587 = STARTTLS, 465 = TLS), login = address."""
    return {
        "email": address,
        "imap_enabled": True,
        "imap_address": targets.imap_host,
        "imap_port": targets.imap_port,
        "imap_login": address,
        "imap_enable_ssl": targets.imap_port == 993,
        "imap_authentication": "plain",
        "smtp_enabled": True,
        "smtp_address": targets.smtp_host,
        "smtp_port": targets.smtp_port,
        "smtp_login": address,
        "smtp_domain": address.partition("@")[2],
        "smtp_enable_starttls_auto": targets.smtp_port != 465,
        "smtp_enable_ssl_tls": targets.smtp_port == 465,
        "smtp_authentication": "login",
        "smtp_openssl_verify_mode": "none",
    }


def rule_body(dept: DeptState, email_inbox_id: int) -> dict[str, Any]:
    """§g: conversation_created in this email inbox → send_message with the auto-reply."""
    return {
        "name": rule_name(dept),
        "description": f"Acknowledge new {dept.department.name} email tickets (bridge setup)",
        "event_name": "conversation_created",
        "active": True,
        "conditions": [
            {
                "attribute_key": "inbox_id",
                "filter_operator": "equal_to",
                "values": [email_inbox_id],
                "query_operator": None,
            }
        ],
        "actions": [{"action_name": "send_message", "action_params": [dept.department.auto_reply]}],
    }


def rule_drift(rule: CwAutomationRule, wanted: dict[str, Any]) -> list[str]:
    """What differs between a rule in Chatwoot and the wanted body (names, not values)."""

    def conditions(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (c.get("attribute_key"), c.get("filter_operator"), [str(v) for v in c["values"]])
            if isinstance(c.get("values"), list)
            else (c.get("attribute_key"), c.get("filter_operator"), c.get("values"))
            for c in items
        ]

    def actions(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(a.get("action_name"), a.get("action_params")) for a in items]

    drift = []
    if rule.event_name != wanted["event_name"]:
        drift.append("event")
    if not rule.active:
        drift.append("inactive")
    if conditions(rule.conditions) != conditions(wanted["conditions"]):
        drift.append("inbox condition")
    if actions(rule.actions) != actions(wanted["actions"]):
        drift.append("auto-reply text")
    return drift


@dataclass
class ChatwootSnapshot:
    inboxes: list[CwInboxDetail]
    teams: list[CwTeam]
    rules: list[CwAutomationRule]

    @classmethod
    async def read(cls, cw: ChatwootClient) -> ChatwootSnapshot:
        return cls(
            inboxes=await cw.list_inbox_details(),
            teams=await cw.list_teams(),
            rules=await cw.list_automation_rules(),
        )

    def inbox(self, inbox_id: int | None) -> CwInboxDetail | None:
        return next((i for i in self.inboxes if inbox_id is not None and i.id == inbox_id), None)


def _adopt(dept: DeptState, name: IdField, found_id: int | None) -> None:
    if found_id is not None:
        dept.set_id(name, found_id)
    else:
        dept.pending.add(name)


def _check_kind(inbox: CwInboxDetail, channel: str, dept: DeptState, name: IdField) -> None:
    if inbox.channel_type not in (None, channel):
        raise ConfigError(
            f"BRIDGE_DEPARTMENTS_FILE: {dept.key}: {name} = {inbox.id} is a "
            f"{inbox.channel_type} inbox, expected {channel}"
        )


def _plan_api_inbox(
    plan: Plan, dept: DeptState, targets: Targets, cw: ChatwootClient, snap: ChatwootSnapshot
) -> None:
    target = f"{dept.key}: WhatsApp inbox"
    inbox = snap.inbox(dept.chatwoot_inbox_id) or next(
        (
            i
            for i in snap.inboxes
            if i.channel_type == API_CHANNEL and i.name == api_inbox_name(dept)
        ),
        None,
    )
    _adopt(dept, "chatwoot_inbox_id", inbox.id if inbox else None)
    url = targets.chatwoot_webhook_url
    if inbox is None:

        async def create() -> None:
            created = await cw.create_api_inbox(api_inbox_name(dept), url)
            dept.set_id("chatwoot_inbox_id", created.id)

        plan.change("create", SYSTEM, target, f"API channel, webhook {url}", create)
        return
    _check_kind(inbox, API_CHANNEL, dept, "chatwoot_inbox_id")
    if inbox.webhook_url != url:
        inbox_id = inbox.id

        async def update() -> None:
            await cw.update_inbox(inbox_id, webhook_url=url)

        plan.change("update", SYSTEM, target, f"#{inbox.id} webhook URL → {url}", update)
        return
    plan.keep(SYSTEM, target, f"#{inbox.id} webhook {url}")


def _plan_team(plan: Plan, dept: DeptState, cw: ChatwootClient, snap: ChatwootSnapshot) -> None:
    target = f"{dept.key}: team"
    wanted = dept.department.name.lower()  # Chatwoot lower-cases team names
    team = next((t for t in snap.teams if t.id == dept.chatwoot_team_id), None) or next(
        (t for t in snap.teams if t.name.lower() == wanted), None
    )
    _adopt(dept, "chatwoot_team_id", team.id if team else None)
    if team is not None:
        plan.keep(SYSTEM, target, f"#{team.id} {team.name}")
        return

    async def create() -> None:
        created = await cw.create_team(wanted, description=f"{dept.department.name} (bridge)")
        dept.set_id("chatwoot_team_id", created.id)

    plan.change("create", SYSTEM, target, wanted, create)


async def _plan_email(
    plan: Plan,
    dept: DeptState,
    targets: Targets,
    cw: ChatwootClient,
    snap: ChatwootSnapshot,
    mailcow: MailcowClient | None,
) -> None:
    address = dept.department.email
    if address is None:
        return
    target = f"{dept.key}: email inbox"
    inbox = snap.inbox(dept.chatwoot_email_inbox_id) or next(
        (i for i in snap.inboxes if (i.email or "").lower() == address.lower()), None
    )
    _adopt(dept, "chatwoot_email_inbox_id", inbox.id if inbox else None)
    if inbox is not None:
        _check_kind(inbox, EMAIL_CHANNEL, dept, "chatwoot_email_inbox_id")
    new_password = await plan_mailbox(plan, dept, targets, mailcow, needs_password=inbox is None)
    wanted = email_channel(address, targets)
    if inbox is None:

        async def create() -> None:
            password = dept.mailbox_password
            if password is None:
                raise ConfigError(f"{dept.key}: no mailbox password to give to Chatwoot")
            created = await cw.create_email_inbox(
                email_inbox_name(dept), wanted, password=password.get_secret_value()
            )
            dept.mailbox_password = None
            dept.set_id("chatwoot_email_inbox_id", created.id)

        detail = f"{address}: IMAP {targets.imap_host}:{targets.imap_port}, "
        detail += f"SMTP {targets.smtp_host}:{targets.smtp_port}"
        plan.change("create", SYSTEM, target, detail, create)
        return
    current = inbox.model_dump()
    drift = {k: wanted[k] for k in EMAIL_COMPARED if current.get(k) != wanted[k]}
    if not drift and not new_password:
        plan.keep(SYSTEM, target, f"#{inbox.id} {address}")
        return
    inbox_id = inbox.id

    async def update() -> None:
        password = dept.mailbox_password
        await cw.update_inbox_channel(
            inbox_id,
            drift,
            password=password.get_secret_value() if password is not None else None,
        )
        dept.mailbox_password = None

    what = sorted(drift) + (["password (new mailbox)"] if new_password else [])
    plan.change("update", SYSTEM, target, f"#{inbox.id} {', '.join(what)}", update)


def _plan_rule(plan: Plan, dept: DeptState, cw: ChatwootClient, snap: ChatwootSnapshot) -> None:
    if dept.department.email is None or not dept.department.auto_reply:
        return
    target = f"{dept.key}: auto-reply rule"
    rule = next((r for r in snap.rules if r.name == rule_name(dept)), None)

    def body() -> dict[str, Any]:
        inbox_id = dept.chatwoot_email_inbox_id
        if inbox_id is None:
            raise ConfigError(f"{dept.key}: the email inbox id is unknown")
        return rule_body(dept, inbox_id)

    if rule is None:

        async def create() -> None:
            await cw.create_automation_rule(body())

        plan.change("create", SYSTEM, target, "conversation_created → send_message", create)
        return
    drift = (
        ["inbox condition"]
        if "chatwoot_email_inbox_id" in dept.pending
        else rule_drift(rule, body())
    )
    if not drift:
        plan.keep(SYSTEM, target, f"#{rule.id} {rule.name}")
        return
    rule_id = rule.id

    async def update() -> None:
        await cw.update_automation_rule(rule_id, body())

    plan.change("update", SYSTEM, target, f"#{rule.id} {', '.join(drift)}", update)


async def plan_chatwoot(
    plan: Plan,
    depts: list[DeptState],
    targets: Targets,
    cw: ChatwootClient,
    mailcow: MailcowClient | None,
) -> ChatwootSnapshot:
    snap = await ChatwootSnapshot.read(cw)
    for dept in depts:
        _plan_api_inbox(plan, dept, targets, cw, snap)
        _plan_team(plan, dept, cw, snap)
        await _plan_email(plan, dept, targets, cw, snap, mailcow)
        _plan_rule(plan, dept, cw, snap)
    return snap
