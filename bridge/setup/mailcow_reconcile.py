"""Department mailboxes in Mailcow: present, and a password Chatwoot's email inbox can use."""

from __future__ import annotations

from pydantic import SecretStr

from bridge.clients import MailcowClient
from bridge.errors import ConfigError
from bridge.setup.context import DeptState, Targets
from bridge.setup.plan import Plan
from provisioning.passwords import MailcowPasswordPolicy, PasswordPolicy, generate_password

SYSTEM = "mailcow"


async def _policy(mailcow: MailcowClient) -> PasswordPolicy:
    upstream = await mailcow.get_password_policy()
    return PasswordPolicy().merge_mailcow(
        MailcowPasswordPolicy.model_validate(upstream.model_dump())
    )


async def plan_mailbox(
    plan: Plan,
    dept: DeptState,
    targets: Targets,
    mailcow: MailcowClient | None,
    *,
    needs_password: bool,
) -> bool:
    """Plan the department mailbox; True when a fresh password will be set (Chatwoot needs it).

    `needs_password`: Chatwoot's email inbox is about to be created, so setup must know the
    password: an existing mailbox (created outside setup) then gets a new one.
    """
    address = dept.department.email
    if address is None:
        return False
    target = f"{dept.key}: mailbox {address}"
    if mailcow is None:
        if needs_password:
            raise ConfigError(
                f"MAILCOW_URL / MAILCOW_API_KEY: needed to create the mailbox {address} of "
                f"department {dept.key} (its Chatwoot email inbox needs the password)"
            )
        return False
    local_part, _, domain = address.partition("@")
    mailbox = await mailcow.get_mailbox(address)
    if mailbox is not None and not needs_password:
        plan.keep(SYSTEM, target, "exists")
        return False
    if mailbox is None and await mailcow.get_domain(domain) is None:
        raise ConfigError(
            f"BRIDGE_DEPARTMENTS_FILE: the domain of {address} ({dept.key}) is not a Mailcow domain"
        )
    policy = await _policy(mailcow)

    async def create() -> None:
        password = generate_password(policy)
        await mailcow.add_mailbox(
            local_part=local_part,
            domain=domain,
            name=f"{dept.department.name} support",
            password=password,
            quota_mb=targets.mailbox_quota_mb,
            tags=("managed-by-bridge",),
        )
        dept.mailbox_password = SecretStr(password)

    async def reset() -> None:
        password = generate_password(policy)
        await mailcow.edit_mailbox(address, {"password": password, "password2": password})
        dept.mailbox_password = SecretStr(password)

    if mailbox is None:
        plan.change(
            "create",
            SYSTEM,
            target,
            f"quota {targets.mailbox_quota_mb} MiB, generated password (only given to Chatwoot)",
            create,
        )
    else:
        plan.change(
            "update",
            SYSTEM,
            target,
            "new generated password for the new Chatwoot email inbox (mailbox made elsewhere)",
            reset,
        )
    return True
