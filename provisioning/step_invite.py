"""The invite step: a one-time set-password link mailed to the employee's personal address."""

from __future__ import annotations

from provisioning.context import ProvisioningDeps, StepFailed
from provisioning.store import Employee, issue_invite, revoke_invites

ONBOARDING_PATH = "/onboarding/"


def onboarding_link(public_url: str, plain_token: str) -> str:
    """Built from BRIDGE_PUBLIC_URL, never from a request's Host header."""
    return f"{public_url.rstrip('/')}{ONBOARDING_PATH}{plain_token}"


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


async def send_invite(deps: ProvisioningDeps, employee: Employee) -> str:
    """Issue a token (only its hash is stored; earlier links stop working) and mail the link.

    Never to the new mailbox: nobody can read it before the password is set.
    """
    if employee.personal_email.lower() == employee.email.lower():
        raise StepFailed("personal_email is the new work mailbox, which nobody can read yet")
    now = deps.now_ms()
    token, expires_at_ms = await issue_invite(deps.db, employee.username, now)
    try:
        await deps.mailer.send_invite(
            to_address=employee.personal_email,
            first_name=employee.first_name,
            username=employee.username,
            work_email=employee.email,
            link=onboarding_link(str(deps.settings.bridge_public_url), token.plain),
            expires_at_ms=expires_at_ms,
        )
    except Exception:
        # The link never reached anyone: do not leave a live token behind.
        await revoke_invites(deps.db, employee.username, deps.now_ms())
        raise
    return f"invite sent to {mask_email(employee.personal_email)}"
