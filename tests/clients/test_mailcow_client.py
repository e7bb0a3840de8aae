"""MailcowClient vs the Mailcow OpenAPI (with the research's corrections) and 200-on-error."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest
import respx

from bridge.clients.mailcow import MailcowClient, MailcowError
from bridge.errors import PermanentDeliveryError
from tests.clients.spec import mailcow_spec
from tests.contracts_dir import load_contract

BASE = "https://mail.test"
API_KEY = "ABCDEF-123456-ABCDEF-123456-ABCDEF"
PASSWORD = "Gen3rated!Passw0rd-xyz"
FLAG = {"type": ["boolean", "string", "integer"], "enum": [True, False, "0", "1", "2", 0, 1, 2]}


def fix_add_mailbox(schema: dict[str, Any]) -> dict[str, Any]:
    """Spec types the 0/1 flags as boolean, but the code intval()s them and `active` has a
    third value "2" (no login, mail accepted): research mailcow-and-peers.md §1.5."""
    fixed = copy.deepcopy(schema)
    for name in ("active", "force_pw_update", "force_tfa", "tls_enforce_in", "tls_enforce_out"):
        fixed["properties"][name] = FLAG
    return fixed


def fix_edit_mailbox(schema: dict[str, Any]) -> dict[str, Any]:
    """Spec says `items` is an object; the code takes a list of addresses (§1.7). Flags as above."""
    fixed = copy.deepcopy(schema)
    attr = fixed["properties"]["attr"]["properties"]
    for name in ("active", "force_pw_update", "force_tfa", "sogo_access"):
        attr[name] = FLAG
    fixed["properties"]["items"] = {"type": "array", "items": {"type": "string"}}
    return fixed


def fix_delete(_: dict[str, Any]) -> dict[str, Any]:
    """Spec documents `{items: …}`; json_api.php reads the raw body as the list (§1.3, §1.8)."""
    return {"type": "array", "items": {"type": "string"}, "minItems": 1}


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE)


@pytest.fixture
def client(router: respx.Router) -> MailcowClient:
    return MailcowClient(
        base_url=BASE, api_key=API_KEY, transport=httpx.MockTransport(router.handler)
    )


def last(route: respx.Route) -> httpx.Request:
    request = route.calls.last.request
    assert request.headers["X-API-Key"] == API_KEY
    assert API_KEY not in str(request.url)
    return request


async def test_add_mailbox(router: respx.Router, client: MailcowClient) -> None:
    route = router.post("/api/v1/add/mailbox").respond(
        200, json=load_contract("mailcow/examples/add-mailbox.response.success.json")
    )
    entries = await client.add_mailbox(
        local_part="jane.doe",
        domain="example.com",
        name="Jane Doe",
        password=PASSWORD,
        quota_mb=3072,
    )
    request = last(route)
    mailcow_spec().validate(request, patch=fix_add_mailbox)
    body = json.loads(request.content)
    assert set(body) == set(load_contract("mailcow/examples/add-mailbox.request.json"))
    assert body["quota"] == 3072  # always sent: a missing quota means unlimited
    assert body["password"] == body["password2"] == PASSWORD
    assert any(e.msg_key == "mailbox_added" for e in entries)


async def test_add_mailbox_spec_without_fix_rejects_active_2() -> None:
    # Documents why the patch exists: the unpatched spec refuses Mailcow's own "2".
    import jsonschema

    op = mailcow_spec().find("POST", "/api/v1/add/mailbox")
    assert op is not None
    schema = mailcow_spec().body_schema(op[2])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"active": "2"}, schema)


async def test_add_mailbox_object_exists(router: respx.Router, client: MailcowClient) -> None:
    router.post("/api/v1/add/mailbox").respond(
        200, json=load_contract("mailcow/examples/add-mailbox.response.object-exists.json")
    )
    with pytest.raises(MailcowError) as caught:
        await client.add_mailbox(
            local_part="jane.doe", domain="example.com", name="J", password=PASSWORD, quota_mb=1
        )
    assert caught.value.msg_key == "object_exists"
    assert caught.value.msg_args == ("jane.doe@example.com",)
    assert PASSWORD not in str(caught.value)
    assert isinstance(caught.value, PermanentDeliveryError)


async def test_edit_mailbox_deactivate(router: respx.Router, client: MailcowClient) -> None:
    route = router.post("/api/v1/edit/mailbox").respond(
        200, json=load_contract("mailcow/examples/edit-mailbox-deactivate.response.success.json")
    )
    await client.edit_mailbox("jane.doe@example.com", {"active": "0"})
    request = last(route)
    mailcow_spec().validate(request, patch=fix_edit_mailbox)
    assert json.loads(request.content) == load_contract(
        "mailcow/examples/edit-mailbox-deactivate.request.json"
    )


async def test_delete_mailbox_bare_list(router: respx.Router, client: MailcowClient) -> None:
    route = router.post("/api/v1/delete/mailbox").respond(
        200, json=load_contract("mailcow/examples/delete-mailbox.response.success.json")
    )
    await client.delete_mailbox(["jane.doe@example.com"])
    request = last(route)
    mailcow_spec().validate(request, patch=fix_delete)
    assert json.loads(request.content) == load_contract(
        "mailcow/examples/delete-mailbox.request.json"
    )


async def test_access_denied_exposes_msg_key(router: respx.Router, client: MailcowClient) -> None:
    router.post("/api/v1/delete/mailbox").respond(
        200, json=load_contract("mailcow/examples/delete-mailbox.response.not-found.json")
    )
    with pytest.raises(MailcowError) as caught:
        await client.delete_mailbox(["jane.doe@example.com"])
    # The caller confirms with get_mailbox(): access_denied also means "no such mailbox".
    assert caught.value.msg_key == "access_denied"


async def test_success_without_expected_entry_is_not_success(
    router: respx.Router, client: MailcowClient
) -> None:
    router.post("/api/v1/edit/mailbox").respond(
        200, json={"type": "success", "msg": "Task completed"}
    )
    with pytest.raises(PermanentDeliveryError, match="expected success mailbox_modified"):
        await client.edit_mailbox("a@b.test", {"active": "1"})


async def test_password_never_in_errors(router: respx.Router, client: MailcowClient) -> None:
    router.post("/api/v1/edit/mailbox").respond(400, text=f"bad json near {PASSWORD}")
    with pytest.raises(PermanentDeliveryError) as caught:
        await client.edit_mailbox("a@b.test", {"password": PASSWORD, "password2": PASSWORD})
    assert PASSWORD not in str(caught.value)


async def test_401_is_permanent(router: respx.Router, client: MailcowClient) -> None:
    router.get("/api/v1/get/mailbox/a@b.test").respond(
        401, json=load_contract("mailcow/examples/error.401.authentication-failed.json")
    )
    with pytest.raises(PermanentDeliveryError) as caught:
        await client.get_mailbox("a@b.test")
    assert caught.value.status == 401
    assert API_KEY not in str(caught.value)


async def test_gets(router: respx.Router, client: MailcowClient) -> None:
    missing = router.get("/api/v1/get/mailbox/jane.doe@example.com").respond(
        200, json=load_contract("mailcow/examples/get-mailbox.response.not-found.json")
    )
    alias = router.get("/api/v1/get/alias/info@example.com").respond(
        200, json={"id": 7, "address": "info@example.com", "goto": "a@example.com", "active": "1"}
    )
    domain = router.get("/api/v1/get/domain/example.com").respond(
        200, json={"domain_name": "example.com", "active": 1, "max_num_mboxes_for_domain": 10}
    )
    assert await client.get_mailbox("jane.doe@example.com") is None
    found = await client.get_alias("info@example.com")
    assert found is not None
    assert found.id == 7
    dom = await client.get_domain("example.com")
    assert dom is not None
    assert dom.max_num_mboxes_for_domain == 10
    for route in (missing, alias, domain):
        mailcow_spec().validate(last(route))


async def test_password_policy_not_in_spec(router: respx.Router, client: MailcowClient) -> None:
    route = router.get("/api/v1/get/passwordpolicy").respond(
        200,
        json={
            "length": "12",
            "chars": "1",
            "special_chars": "1",
            "lowerupper": "1",
            "numbers": "1",
        },
    )
    policy = await client.get_password_policy()
    assert (policy.length, policy.special_chars) == (12, 1)
    # The research (§1.10) says the spec leaves this endpoint out; it exists in json_api.php.
    assert mailcow_spec().find("GET", last(route).url.path) is None


async def test_empty_get_answer_is_permanent(router: respx.Router, client: MailcowClient) -> None:
    router.get("/api/v1/get/domain/x.test").respond(200, text="")
    with pytest.raises(PermanentDeliveryError, match="empty"):
        await client.get_domain("x.test")
