"""`bridge verify`: the verification checklist against the configured live systems."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr

from bridge.departments import Departments
from bridge.errors import BridgeError
from bridge.setup.checks import Check, chatwoot_version_check, failed
from bridge.setup.context import DeptState, SetupClients, SetupCommandSettings, Targets, public_base
from bridge.setup.plan import Action
from bridge.setup.run import build_plan, read_secrets
from bridge.setup.verify_optional import optional_checks


class VerifySettings(SetupCommandSettings):
    """What verify reads beyond setup: the secrets the bridge verifies, the admin token."""

    chatwoot_webhook_secrets: SecretStr = SecretStr("")
    chatwoot_webhook_token: SecretStr = SecretStr("")
    bridge_admin_token: SecretStr | None = None

    @property
    def webhook_secret_list(self) -> list[str]:
        raw = self.chatwoot_webhook_secrets.get_secret_value()
        return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass(frozen=True)
class VerifyOptions:
    sso_email: str | None = None
    public_host: str | None = None
    send_test_message: str | None = None
    create_test_employee: str | None = None  # personal email; "" = a default address
    mailcow_ui_port: int = 8080
    connect_timeout_s: float = 3.0


async def _chatwoot(clients: SetupClients) -> Check:
    try:
        version = (await clients.chatwoot.get_version()).version
    except (BridgeError, httpx.HTTPError) as exc:
        return failed("chatwoot version", exc)
    return chatwoot_version_check(version)


async def _evolution(clients: SetupClients, instance: str) -> list[Check]:
    try:
        info = await clients.evolution.get_info()
        instances = await clients.evolution.fetch_instances()
    except (BridgeError, httpx.HTTPError) as exc:
        return [failed("evolution", exc)]
    version = str(info.get("version") or "unknown version")
    row = next((i for i in instances if i.get("name") == instance), None)
    checks = [Check("PASS", "evolution", f"reachable, {version}")]
    if row is None:
        checks.append(Check("FAIL", "evolution instance", f"{instance} does not exist"))
    elif row.get("connectionStatus") != "open":
        status = row.get("connectionStatus")
        checks.append(Check("WARN", "evolution instance", f"{instance} is {status}, not open"))
    else:
        checks.append(Check("PASS", "evolution instance", f"{instance} connected"))
    return checks


async def _mailcow(settings: VerifySettings, clients: SetupClients) -> Check:
    if clients.mailcow is None:
        return Check("WARN", "mailcow", "not configured (MAILCOW_URL, MAILCOW_API_KEY)")
    try:
        domain = settings.mail_domain
        if domain and await clients.mailcow.get_domain(domain) is None:
            return Check("FAIL", "mailcow", f"reachable, but MAIL_DOMAIN {domain} is not a domain")
        await clients.mailcow.get_password_policy()
    except (BridgeError, httpx.HTTPError) as exc:
        return failed("mailcow", exc)
    return Check(
        "PASS", "mailcow", f"reachable with the API key{f', domain {domain}' if domain else ''}"
    )


def _action_check(action: Action) -> Check:
    # "PASS <check>: <detail>": keep the separator out of the check name.
    name = f"{action.system} {action.target.replace(': ', ' ')}"
    if not action.changes:
        return Check("PASS", name, action.detail)
    return Check("FAIL", name, f"needs {action.kind}: {action.detail} (run `bridge setup`)")


def _secrets_check(
    settings: VerifySettings, inbox_secrets: list[tuple[str, SecretStr | None]]
) -> Check:
    name = "chatwoot webhook secrets"
    configured = settings.webhook_secret_list
    if not configured:
        if settings.chatwoot_webhook_token.get_secret_value():
            return Check(
                "WARN", name, "CHATWOOT_WEBHOOK_SECRETS empty; relying on ?token= (unsigned)"
            )
        return Check("FAIL", name, "CHATWOOT_WEBHOOK_SECRETS and CHATWOOT_WEBHOOK_TOKEN are empty")
    missing, unknown = [], []
    for key, secret in inbox_secrets:
        if secret is None:
            unknown.append(key)
            continue
        value = secret.get_secret_value().encode()
        if not any(hmac.compare_digest(value, c.encode()) for c in configured):
            missing.append(key)
    if missing:
        return Check(
            "FAIL",
            name,
            f"the WhatsApp inbox secret of {', '.join(missing)} is not in CHATWOOT_WEBHOOK_SECRETS "
            "(its webhooks would be refused); run `bridge setup --secrets-out FILE`",
        )
    if unknown:
        return Check("WARN", name, f"Chatwoot shows no secret for {', '.join(unknown)}")
    return Check("PASS", name, f"{len(inbox_secrets)} inbox secret(s) configured")


async def _webhooks(clients: SetupClients, base: str) -> Check:
    try:
        hooks = await clients.chatwoot.list_webhooks()
    except (BridgeError, httpx.HTTPError) as exc:
        return failed("chatwoot account webhooks", exc)
    doubled = [h for h in hooks if h.url.startswith(f"{base}/webhooks/chatwoot")]
    if doubled:
        ids = ", ".join(f"#{h.id}" for h in doubled)
        return Check(
            "WARN",
            "chatwoot account webhooks",
            f"{ids} also point at the bridge: every event would arrive twice",
        )
    return Check("PASS", "chatwoot account webhooks", "none duplicates the inbox webhooks")


async def _setup_state(
    settings: VerifySettings, departments: Departments, clients: SetupClients
) -> tuple[list[Check], list[DeptState]]:
    try:
        plan, depts = await build_plan(
            Targets.from_settings(settings),
            departments,
            clients,
            Path(settings.bridge_departments_file),
        )
    except (BridgeError, httpx.HTTPError) as exc:
        return [failed("setup state", exc)], []
    return [_action_check(a) for a in plan.actions], depts


async def run_verify(
    settings: VerifySettings,
    departments: Departments,
    clients: SetupClients,
    http: httpx.AsyncClient,
    options: VerifyOptions,
) -> list[Check]:
    """Every check; read-only unless `options` opts in to the test message / employee."""
    base = public_base(settings)
    checks = [Check("PASS", "configuration", f"{len(departments.department)} department(s)")]
    checks.append(await _chatwoot(clients))
    checks += await _evolution(clients, settings.evolution_instance)
    checks.append(await _mailcow(settings, clients))
    state, depts = await _setup_state(settings, departments, clients)
    checks += state
    checks.append(await _webhooks(clients, base))
    if depts:
        try:
            found = await read_secrets(clients, depts)
            checks.append(_secrets_check(settings, [(s.department, s.secret) for s in found]))
        except (BridgeError, httpx.HTTPError) as exc:
            checks.append(failed("chatwoot webhook secrets", exc))
    checks += await optional_checks(settings, departments, clients, http, options, base)
    return checks


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == "FAIL" for c in checks) else 0
