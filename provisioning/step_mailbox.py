"""The Mailcow side of an employee: create the mailbox (reconciling first), deactivate it.

Mailcow has no idempotency key and answers HTTP 200 on errors, so every attempt starts with a
GET, and a mailbox that exists counts as ours only when it carries this employee's saga tag.
"""

from __future__ import annotations

from bridge.clients.mailcow import MailcowClient, MailcowError
from bridge.errors import RetryableDeliveryError
from bridge.schemas.mailcow import MailcowMailbox
from provisioning.context import ProvisioningDeps, StepFailed
from provisioning.passwords import MailcowPasswordPolicy, PasswordPolicy, generate_password
from provisioning.store import Employee

MANAGED_TAG = "bridge-managed"
_ALIAS_KEYS = frozenset({"is_alias", "is_spam_alias", "is_alias_or_mailbox"})


def _is_ours(mailbox: MailcowMailbox, employee: Employee) -> bool:
    # Tags are compared exactly (Mailcow's tag filter matches substrings).
    return employee.saga_marker in mailbox.tags


async def _policy(mailcow: MailcowClient) -> PasswordPolicy:
    reported = await mailcow.get_password_policy()
    return PasswordPolicy().merge_mailcow(
        MailcowPasswordPolicy.model_validate(reported.model_dump())
    )


def _adopt(mailbox: MailcowMailbox, employee: Employee) -> str:
    if _is_ours(mailbox, employee):
        return f"{employee.email} exists, created earlier by this provisioning run"
    raise StepFailed(
        f"{employee.email} already exists in Mailcow and was not created for this employee; "
        "remove or rename it in Mailcow (or disable this employee), then retry"
    )


def _policy_text(policy: PasswordPolicy) -> str:
    rules = [f"at least {policy.min_length} characters"]
    rules += [
        label
        for flag, label in (
            (policy.require_letter, "a letter"),
            (policy.require_lowerupper, "lower and upper case"),
            (policy.require_digit, "a digit"),
            (policy.require_special, "a special character"),
        )
        if flag
    ]
    return ", ".join(rules)


def _refusal(exc: MailcowError, employee: Employee, quota_mb: int) -> StepFailed:
    key, args = exc.msg_key, " ".join(exc.msg_args)
    if key in _ALIAS_KEYS:
        return StepFailed(
            f"{employee.email} is already used as an alias in Mailcow ({key}); remove the alias, "
            "then retry"
        )
    if key == "max_mailbox_exceeded":
        return StepFailed(
            f"the mail domain has no mailbox left (max_mailbox_exceeded {args}); raise the "
            "domain's mailbox limit in Mailcow, then retry"
        )
    if key in ("mailbox_quota_exceeded", "mailbox_quota_left_exceeded"):
        return StepFailed(
            f"a quota of {quota_mb} MiB does not fit the domain ({key} {args} MiB); lower "
            "PROVISIONING_MAILBOX_QUOTA_MB or raise the domain quota in Mailcow, then retry"
        )
    return StepFailed(f"Mailcow refused the mailbox: {key} {args}".rstrip())


async def provision_mailbox(deps: ProvisioningDeps, employee: Employee) -> str:
    """Create the mailbox with a random password nobody ever sees (the employee sets their own
    through the invite); returns a detail line for the step record."""
    mailcow, domain = deps.mailcow(), deps.mail_domain
    quota_mb = deps.settings.provisioning_mailbox_quota_mb
    existing = await mailcow.get_mailbox(employee.email)  # reconcile before any (re)try
    if existing is not None:
        return _adopt(existing, employee)
    policy = await _policy(mailcow)
    for attempt in (1, 2):
        try:
            await mailcow.add_mailbox(
                local_part=employee.username,
                domain=domain,
                name=f"{employee.first_name} {employee.last_name}",
                password=generate_password(policy),
                quota_mb=quota_mb,
                active="1",
                tags=(MANAGED_TAG, employee.saga_marker),
            )
        except MailcowError as exc:
            if exc.msg_key == "object_exists":
                found = await mailcow.get_mailbox(employee.email)
                if found is None:
                    raise RetryableDeliveryError(
                        "Mailcow answered object_exists but the mailbox cannot be read yet"
                    ) from None
                return _adopt(found, employee)
            if exc.msg_key == "access_denied":
                return await _resolve_access_denied(mailcow, domain, employee)
            if exc.msg_key == "password_complexity":
                if attempt == 1:
                    # The policy may have changed since we read it: read again, regenerate.
                    policy = await _policy(mailcow)
                    continue
                raise StepFailed(
                    "Mailcow refused a generated password (password_complexity) that satisfies "
                    f"the policy it reports ({_policy_text(policy)}); check Mailcow's password "
                    "policy settings, then retry"
                ) from None
            raise _refusal(exc, employee, quota_mb) from None
        return f"created {employee.email} ({quota_mb} MiB)"
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def _resolve_access_denied(mailcow: MailcowClient, domain: str, employee: Employee) -> str:
    """`access_denied` on add also means "no such domain": find out which, then say so."""
    found = await mailcow.get_mailbox(employee.email)
    if found is not None:
        # A concurrent run of this saga got there first (or someone else did).
        return _adopt(found, employee)
    if await mailcow.get_domain(domain) is None:
        raise StepFailed(
            f"the mail domain {domain} does not exist in Mailcow (access_denied); add the domain "
            "in Mailcow or fix MAIL_DOMAIN, then retry"
        )
    raise StepFailed(
        "Mailcow denied adding the mailbox (access_denied) although the domain exists; check "
        "that MAILCOW_API_KEY is a read-write key with access to the domain, then retry"
    )


async def deactivate_mailbox(deps: ProvisioningDeps, employee: Employee) -> str:
    """`active` 0 (no login, no mail) on the employee's own mailbox; never touches a mailbox the
    bridge did not create. The mailbox itself stays (delete later, by hand)."""
    mailcow = deps.mailcow()
    found = await mailcow.get_mailbox(employee.email)
    if found is None:
        return "no mailbox to deactivate"
    if not _is_ours(found, employee):
        return "mailbox was not created for this employee; left unchanged"
    if found.active == 0:
        return "mailbox already inactive"
    try:
        await mailcow.edit_mailbox(employee.email, {"active": "0"})
    except MailcowError as exc:
        # access_denied on edit also means "no such mailbox": confirm with a GET.
        if exc.msg_key == "access_denied" and await mailcow.get_mailbox(employee.email) is None:
            return "mailbox no longer exists"
        raise StepFailed(f"Mailcow refused to deactivate the mailbox: {exc.msg_key}") from None
    return "mailbox deactivated"
