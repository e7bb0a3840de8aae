"""Checks of `bridge verify` beyond the setup state: the bridge itself, SSO, exposure, writes."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import TYPE_CHECKING

import httpx

from bridge.departments import Departments
from bridge.errors import BridgeError
from bridge.setup.checks import Check, failed
from bridge.setup.context import SetupClients

if TYPE_CHECKING:
    from bridge.setup.verify import VerifyOptions, VerifySettings

TEST_MESSAGE = "Test message from `bridge verify` (MM All Electronics support bridge)."


async def bridge_ready(http: httpx.AsyncClient, base: str) -> Check:
    try:
        response = await http.get(f"{base}/readyz")
    except httpx.HTTPError as exc:
        return failed("bridge readyz", exc)
    if response.status_code == 200:
        return Check("PASS", "bridge readyz", f"{base}/readyz answered 200")
    return Check("FAIL", "bridge readyz", f"{base}/readyz answered {response.status_code}")


async def sso_link(clients: SetupClients, email: str) -> Check:
    """Read the agent list for the user id, then ask the platform API for a login URL (a 5-minute,
    single-use token that is discarded, never shown)."""
    name = "sso link"
    if clients.platform is None:
        return Check("WARN", name, "CHATWOOT_PLATFORM_TOKEN not set: cannot check SSO")
    try:
        agents = await clients.chatwoot.list_agents()
    except (BridgeError, httpx.HTTPError) as exc:
        return failed(name, exc)
    agent = next((a for a in agents if (a.email or "").lower() == email.lower()), None)
    if agent is None:
        return Check("FAIL", name, f"no Chatwoot agent with email {email} in the account")
    try:
        url = await clients.platform.get_login_url(agent.id)
    except (BridgeError, httpx.HTTPError) as exc:
        return Check(
            "FAIL", name, f"platform app cannot log in user #{agent.id}: {failed(name, exc).detail}"
        )
    if not url:
        return Check("FAIL", name, f"empty login URL for user #{agent.id}")
    return Check("PASS", name, f"one-time login URL issued for user #{agent.id} (not shown)")


async def port_closed(host: str, port: int, timeout_s: float) -> Check:
    """Mailcow's web UI must sit behind nginx on loopback: a TCP connect from here must fail."""
    name = f"mailcow admin port {port}"
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError):
        return Check("PASS", name, f"{host}:{port} not reachable")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return Check(
        "FAIL", name, f"{host}:{port} accepts connections: bind Mailcow's HTTP_BIND to 127.0.0.1"
    )


async def send_message_check(clients: SetupClients, instance: str, phone: str) -> Check:
    name = "test message"
    try:
        sent = await clients.evolution.send_text(instance, phone, TEST_MESSAGE)
    except (BridgeError, httpx.HTTPError) as exc:
        return failed(name, exc)
    return Check("PASS", name, f"sent to {phone} through {instance} (id {sent.key.id})")


async def create_employee_check(
    settings: VerifySettings,
    departments: Departments,
    http: httpx.AsyncClient,
    base: str,
    personal_email: str,
) -> Check:
    name = "test employee"
    token = settings.bridge_admin_token
    if token is None or not token.get_secret_value():
        return Check("FAIL", name, "BRIDGE_ADMIN_TOKEN not set")
    if not departments.department:
        return Check("FAIL", name, "no department to put the test employee in")
    body = {
        "first_name": "Verify",
        "last_name": f"Test{secrets.randbelow(10**6):06d}",
        "personal_email": personal_email
        or f"bridge-verify@{settings.mail_domain or 'example.com'}",
        "department": departments.department[0].key,
        "role": "agent",
    }
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
    try:
        response = await http.post(f"{base}/api/employees", json=body, headers=headers)
    except httpx.HTTPError as exc:
        return failed(name, exc)
    if response.status_code == 404:
        return Check("FAIL", name, f"{base}/api/employees not available (404)")
    if response.status_code not in (201, 202):
        return Check("FAIL", name, f"POST /api/employees answered {response.status_code}")
    try:
        username = str(response.json().get("username", "?"))
    except ValueError:
        username = "?"
    state = "created" if response.status_code == 201 else "accepted, steps pending"
    return Check("PASS", name, f"{username} {state}")


async def optional_checks(
    settings: VerifySettings,
    departments: Departments,
    clients: SetupClients,
    http: httpx.AsyncClient,
    options: VerifyOptions,
    base: str,
) -> list[Check]:
    checks = [await bridge_ready(http, base)]
    if options.sso_email:
        checks.append(await sso_link(clients, options.sso_email))
    if options.public_host:
        checks.append(
            await port_closed(
                options.public_host, options.mailcow_ui_port, options.connect_timeout_s
            )
        )
    if options.send_test_message:
        checks.append(
            await send_message_check(
                clients, settings.evolution_instance, options.send_test_message
            )
        )
    if options.create_test_employee is not None:
        checks.append(
            await create_employee_check(
                settings, departments, http, base, options.create_test_employee
            )
        )
    return checks
