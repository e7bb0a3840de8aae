"""`bridge setup`: build the whole plan read-only, then (unless dry run) apply it in order."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bridge.departments import Departments
from bridge.errors import ConfigError
from bridge.setup.chatwoot_reconcile import API_CHANNEL, plan_chatwoot
from bridge.setup.context import DeptState, SetupClients, Targets
from bridge.setup.departments_writer import write_department_ids
from bridge.setup.evolution_reconcile import plan_evolution
from bridge.setup.plan import Plan, render_table, summary

SECRETS_VARIABLE = "CHATWOOT_WEBHOOK_SECRETS"


@dataclass(frozen=True)
class InboxSecret:
    department: str
    inbox_id: int
    secret: SecretStr | None


@dataclass
class SetupResult:
    plan: Plan
    depts: list[DeptState]
    applied: int = 0
    secrets: list[InboxSecret] = field(default_factory=list)


def save_ids(depts: list[DeptState], path: Path) -> bool:
    """Write the ids known so far (also after a failed run: a rerun then finds them)."""
    ids: dict[str, dict[str, int]] = {
        d.key: {str(name): value for name in d.file_changes() if (value := d.get_id(name))}
        for d in depts
    }
    if not any(ids.values()):
        return False
    return write_department_ids(path, ids)


def _plan_file(plan: Plan, depts: list[DeptState], path: Path) -> None:
    changes = {d.key: d.file_changes() for d in depts}
    changes = {k: v for k, v in changes.items() if v}
    target = str(path)
    if not changes:
        plan.keep("departments", target, "ids up to date")
        return

    async def apply() -> None:
        save_ids(depts, path)

    detail = "; ".join(f"{key}: {', '.join(names)}" for key, names in changes.items())
    plan.change("update", "departments", target, detail, apply)


async def build_plan(
    targets: Targets, departments: Departments, clients: SetupClients, departments_file: Path
) -> tuple[Plan, list[DeptState]]:
    """Reads only: nothing is created, changed or written while planning."""
    depts = [DeptState.of(d) for d in departments.department]
    plan = Plan()
    await plan_chatwoot(plan, depts, targets, clients.chatwoot, clients.mailcow)
    await plan_evolution(plan, targets, clients.evolution)
    _plan_file(plan, depts, departments_file)
    return plan, depts


async def read_secrets(clients: SetupClients, depts: list[DeptState]) -> list[InboxSecret]:
    """The signing secrets of the departments' API inboxes (shown to administrators only)."""
    by_id = {i.id: i for i in await clients.chatwoot.list_inboxes()}
    found = []
    for dept in depts:
        inbox = by_id.get(dept.chatwoot_inbox_id or 0)
        if inbox is not None and inbox.channel_type in (None, API_CHANNEL):
            found.append(InboxSecret(dept.key, inbox.id, inbox.secret))
    return found


async def run_setup(
    targets: Targets,
    departments: Departments,
    clients: SetupClients,
    departments_file: Path,
    *,
    dry_run: bool,
) -> SetupResult:
    plan, depts = await build_plan(targets, departments, clients, departments_file)
    result = SetupResult(plan=plan, depts=depts)
    if dry_run:
        return result
    try:
        result.applied = await plan.execute()
    except BaseException:
        with contextlib.suppress(OSError, ConfigError):
            save_ids(depts, departments_file)
        raise
    result.secrets = await read_secrets(clients, depts)
    return result


def secrets_line(secrets: list[InboxSecret]) -> str:
    values = [s.secret.get_secret_value() for s in secrets if s.secret is not None]
    return f"{SECRETS_VARIABLE}={','.join(values)}"


def write_secrets_file(path: Path, secrets: list[InboxSecret]) -> None:
    """Owner-only file (0600, also when it existed before) with the env line."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets_line(secrets) + "\n")


def report(
    result: SetupResult, *, dry_run: bool, secrets_out: Path | None, out: TextIO, err: TextIO
) -> None:
    print(render_table(result.plan), file=out)
    print(summary(result.plan, dry_run=dry_run), file=out)
    if dry_run:
        print("dry run: nothing was changed; webhook secrets are reported by a real run", file=out)
        return
    for missing in (s for s in result.secrets if s.secret is None):
        print(
            f"warning: inbox #{missing.inbox_id} ({missing.department}) shows no signing secret "
            "(Chatwoot < 4.13, or the token is not an administrator's); use "
            "CHATWOOT_WEBHOOK_TOKEN",
            file=err,
        )
    if secrets_out is not None:
        write_secrets_file(secrets_out, result.secrets)
        print(f"webhook secrets written to {secrets_out} (mode 0600)", file=out)
    else:
        print("# put this into the bridge's environment:", file=out)
        print(secrets_line(result.secrets), file=out)
