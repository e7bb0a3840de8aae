"""The Chatwoot side of an employee: confirmed user + account role, team and inbox membership.

Users come from the platform API (create-or-adopt, confirmed, no Chatwoot invite email);
`POST /agents` would create an unconfirmed user and mail them a 6-hour invite.
"""

from __future__ import annotations

from typing import Literal

from bridge.departments import Department
from bridge.errors import PermanentDeliveryError
from provisioning.context import ProvisioningDeps, StepFailed
from provisioning.passwords import PasswordPolicy, generate_password
from provisioning.store import Employee

CwRole = Literal["agent", "administrator"]


def _role(employee: Employee) -> CwRole:
    return "administrator" if employee.role == "administrator" else "agent"


def _user_id(employee: Employee) -> int:
    if employee.cw_user_id is None:
        raise StepFailed("no Chatwoot user id recorded; the chatwoot_user step must run first")
    return employee.cw_user_id


async def provision_chatwoot_user(deps: ProvisioningDeps, employee: Employee) -> tuple[str, int]:
    """Create or adopt the user with the work email, then grant the account role (an upsert).
    The random password is never kept: staff reach Chatwoot through SSO."""
    platform = deps.platform()
    user = await platform.create_user(
        name=f"{employee.first_name} {employee.last_name}",
        display_name=employee.first_name,
        email=employee.email,
        password=generate_password(PasswordPolicy()),
    )
    if user.email.lower() != employee.email.lower():
        raise StepFailed(
            f"Chatwoot answered with user {user.id} <{user.email}> for {employee.email}"
        )
    role = _role(employee)
    await platform.create_account_user(deps.settings.chatwoot_account_id, user.id, role)
    # The brief: agents stay available when their browser closes (auto_offline false).
    await deps.chatwoot.update_agent(user.id, auto_offline=False)
    return f"Chatwoot user {user.id} with role {role}", user.id


async def join_team(
    deps: ProvisioningDeps, employee: Employee, department: Department | None
) -> str:
    if department is None:
        raise StepFailed(f"department {employee.department!r} is no longer configured")
    team_id = department.chatwoot_team_id
    if team_id is None:
        return f"skipped: department {department.key} has no Chatwoot team"
    user_id = _user_id(employee)
    members = await deps.chatwoot.list_team_members(team_id)
    if any(member.id == user_id for member in members):
        return f"already a member of team {team_id}"
    await deps.chatwoot.add_team_members(team_id, [user_id])
    return f"added to team {team_id}"


async def join_inboxes(
    deps: ProvisioningDeps, employee: Employee, department: Department | None
) -> str:
    """Member of the department's WhatsApp inbox and, when it has one, its email inbox."""
    if department is None:
        raise StepFailed(f"department {employee.department!r} is no longer configured")
    user_id = _user_id(employee)
    inbox_ids = [i for i in (department.chatwoot_inbox_id, department.chatwoot_email_inbox_id) if i]
    if not inbox_ids:
        return f"skipped: department {department.key} has no Chatwoot inbox"
    for inbox_id in inbox_ids:
        # Listed first: adding an existing member is not idempotent on every Chatwoot version.
        members = await deps.chatwoot.list_inbox_members(inbox_id)
        if not any(member.id == user_id for member in members):
            await deps.chatwoot.add_inbox_members(inbox_id, [user_id])
    return "member of inbox(es) " + ", ".join(str(i) for i in inbox_ids)


async def remove_chatwoot_access(deps: ProvisioningDeps, employee: Employee) -> str:
    """Delete the account user: Chatwoot then drops team/inbox memberships and assignments."""
    if employee.cw_user_id is None:
        return "no Chatwoot user to remove"
    platform = deps.platform()
    try:
        await platform.delete_account_user(deps.settings.chatwoot_account_id, employee.cw_user_id)
    except PermanentDeliveryError as exc:
        if exc.status == 404:
            return "Chatwoot user no longer exists"
        raise
    return f"Chatwoot account access of user {employee.cw_user_id} removed"
