"""The mailbox step against Mailcow's HTTP-200-with-danger answers (respx, exact bodies)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from bridge.errors import RetryableDeliveryError
from bridge.state import open_repository
from bridge.upstreams import UpstreamTransports, build_upstreams
from provisioning.context import ProvisioningDeps, StepFailed, smtp_config
from provisioning.mailer import InviteMailer
from provisioning.passwords import MailcowPasswordPolicy, PasswordPolicy
from provisioning.step_mailbox import deactivate_mailbox, provision_mailbox
from provisioning.store import Employee
from tests.factories import make_departments, make_settings
from tests.provisioning.conftest import FakeClock

ADDRESS = "kay.ntulo@mmallelectronics.co.za"
MARKER = "bridge-emp-0123456789abcdef"
STRICT_POLICY = {
    "length": "16",
    "chars": "1",
    "special_chars": "1",
    "lowerupper": "1",
    "numbers": "1",
}


def danger(msg: Any) -> list[dict[str, Any]]:
    return [{"type": "danger", "log": ["mailbox", "add", "mailbox", {}, None], "msg": msg}]


def added() -> list[dict[str, Any]]:
    return [
        {"type": "success", "log": [], "msg": ["rl_saved", ADDRESS]},
        {"type": "success", "log": [], "msg": ["mailbox_added", ADDRESS]},
    ]


def mailbox(tags: list[str], active: int = 1) -> dict[str, Any]:
    return {"username": ADDRESS, "active": active, "tags": tags, "quota": 3072 * 1048576}


@pytest.fixture
def employee() -> Employee:
    return Employee(
        username="kay.ntulo",
        email=ADDRESS,
        first_name="Kay",
        last_name="Ntulo",
        personal_email="kay@example.org",
        department="DTV",
        role="agent",
        status="pending",
        saga_marker=MARKER,
        created_at_ms=1,
        updated_at_ms=1,
    )


@pytest.fixture
def mailcow() -> respx.Router:
    router = respx.Router(base_url="http://mailcow.test", assert_all_called=False)
    router.get("/api/v1/get/passwordpolicy", name="policy").respond(json=STRICT_POLICY)
    return router


@pytest.fixture
async def deps(mailcow: respx.Router) -> AsyncIterator[ProvisioningDeps]:
    settings = make_settings()
    clock = FakeClock()
    transport = httpx.MockTransport(mailcow.handler)
    upstreams = build_upstreams(
        settings, UpstreamTransports(mailcow=transport, chatwoot=transport), clock
    )
    yield ProvisioningDeps(
        repository=open_repository("sqlite:///:memory:", clock=clock),
        settings=settings,
        departments=make_departments(),
        clock=clock,
        upstreams=upstreams,
        mailer=InviteMailer(smtp_config(settings)),
    )
    await upstreams.aclose()


def route_get_mailbox(router: respx.Router, *answers: Any) -> respx.Route:
    return router.get(f"/api/v1/get/mailbox/{ADDRESS}", name="get").mock(
        side_effect=[httpx.Response(200, json=a) for a in answers]
    )


def route_add(router: respx.Router, *answers: Any) -> respx.Route:
    return router.post("/api/v1/add/mailbox", name="add").mock(
        side_effect=[httpx.Response(200, json=a) for a in answers]
    )


def sent_passwords(route: respx.Route) -> list[str]:
    return [json.loads(call.request.content)["password"] for call in route.calls]


async def test_creates_the_mailbox_with_quota_tags_and_a_policy_password(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {})
    add = route_add(mailcow, added())

    detail = await provision_mailbox(deps, employee)

    body = json.loads(add.calls.last.request.content)
    assert body["quota"] == 3072
    assert body["local_part"] == "kay.ntulo"
    assert body["domain"] == "mmallelectronics.co.za"
    assert body["tags"] == ["bridge-managed", MARKER]
    policy = PasswordPolicy().merge_mailcow(MailcowPasswordPolicy.model_validate(STRICT_POLICY))
    assert policy.check(body["password"]) == []
    assert body["password"] == body["password2"]
    assert body["password"] not in detail
    assert detail == f"created {ADDRESS} (3072 MiB)"


async def test_existing_own_mailbox_is_reconciled_without_an_add(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, mailbox(["bridge-managed", MARKER]))
    add = route_add(mailcow, added())

    detail = await provision_mailbox(deps, employee)

    assert "created earlier" in detail
    assert add.call_count == 0


async def test_object_exists_on_the_mailbox_this_saga_created_counts_as_done(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    # The first add timed out after Mailcow stored it; the GET before it raced the insert.
    get = route_get_mailbox(mailcow, {}, mailbox(["bridge-managed", MARKER]))
    add = route_add(mailcow, danger(["object_exists", ADDRESS]))

    detail = await provision_mailbox(deps, employee)

    assert "created earlier" in detail
    assert add.call_count == 1
    assert get.call_count == 2


async def test_object_exists_on_someone_elses_mailbox_fails_permanently(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {}, mailbox(["bridge-emp-somebody-else"]))
    route_add(mailcow, danger(["object_exists", ADDRESS]))

    with pytest.raises(StepFailed, match="not created for this employee"):
        await provision_mailbox(deps, employee)


async def test_access_denied_is_double_checked_missing_domain(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {}, {})
    route_add(mailcow, danger("access_denied"))
    domain = mailcow.get("/api/v1/get/domain/mmallelectronics.co.za").respond(json={})

    with pytest.raises(StepFailed, match="does not exist in Mailcow"):
        await provision_mailbox(deps, employee)
    assert domain.call_count == 1


async def test_access_denied_with_an_existing_domain_points_at_the_api_key(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {}, {})
    route_add(mailcow, danger("access_denied"))
    mailcow.get("/api/v1/get/domain/mmallelectronics.co.za").respond(
        json={"domain_name": "mmallelectronics.co.za", "active": 1}
    )

    with pytest.raises(StepFailed, match="read-write key"):
        await provision_mailbox(deps, employee)


async def test_access_denied_after_a_concurrent_create_of_our_own_is_done(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {}, mailbox(["bridge-managed", MARKER]))
    route_add(mailcow, danger("access_denied"))

    assert "created earlier" in await provision_mailbox(deps, employee)


async def test_password_complexity_rereads_the_policy_and_regenerates(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {})
    add = route_add(mailcow, danger("password_complexity"), added())

    await provision_mailbox(deps, employee)

    first, second = sent_passwords(add)
    assert first != second
    assert mailcow.routes["policy"].call_count == 2


async def test_password_complexity_twice_is_a_clear_permanent_error(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {})
    add = route_add(mailcow, danger("password_complexity"), danger("password_complexity"))

    with pytest.raises(StepFailed, match="password_complexity") as caught:
        await provision_mailbox(deps, employee)

    assert "at least 16 characters" in str(caught.value)
    for password in sent_passwords(add):
        assert password not in str(caught.value)


@pytest.mark.parametrize(
    ("msg", "expected"),
    [
        (["is_alias", ADDRESS], "already used as an alias"),
        (["is_spam_alias", ADDRESS], "already used as an alias"),
        (["max_mailbox_exceeded", "10", "10"], "raise the domain's mailbox limit"),
        (["mailbox_quota_exceeded", "1024"], "PROVISIONING_MAILBOX_QUOTA_MB"),
        ("mailbox_invalid", "mailbox_invalid"),
    ],
)
async def test_other_danger_answers_fail_with_the_reason(
    deps: ProvisioningDeps,
    mailcow: respx.Router,
    employee: Employee,
    msg: Any,
    expected: str,
) -> None:
    route_get_mailbox(mailcow, {})
    route_add(mailcow, danger(msg))

    with pytest.raises(StepFailed, match=expected):
        await provision_mailbox(deps, employee)


async def test_a_5xx_is_retryable(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, {})
    mailcow.post("/api/v1/add/mailbox").respond(502, text="bad gateway")

    with pytest.raises(RetryableDeliveryError):
        await provision_mailbox(deps, employee)


async def test_deactivate_sets_active_0_on_our_mailbox_only(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, mailbox([MARKER]), mailbox(["someone-else"]))
    edit = mailcow.post("/api/v1/edit/mailbox").respond(
        json=[{"type": "success", "log": [], "msg": ["mailbox_modified", ADDRESS]}]
    )

    assert await deactivate_mailbox(deps, employee) == "mailbox deactivated"
    assert json.loads(edit.calls.last.request.content) == {
        "items": [ADDRESS],
        "attr": {"active": "0"},
    }
    assert "left unchanged" in await deactivate_mailbox(deps, employee)
    assert edit.call_count == 1


async def test_deactivate_double_checks_access_denied(
    deps: ProvisioningDeps, mailcow: respx.Router, employee: Employee
) -> None:
    route_get_mailbox(mailcow, mailbox([MARKER]), {})
    mailcow.post("/api/v1/edit/mailbox").respond(json=danger("access_denied"))

    assert await deactivate_mailbox(deps, employee) == "mailbox no longer exists"
