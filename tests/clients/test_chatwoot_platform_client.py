"""ChatwootPlatformClient requests vs the swagger, with the platform examples as answers."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from bridge.clients.chatwoot_platform import ChatwootPlatformClient
from bridge.errors import PermanentDeliveryError
from tests.clients.spec import chatwoot_spec
from tests.contracts_dir import load_contract

BASE = "https://cw.test"
TOKEN = "platform-app-token-xyz"
PASSWORD = "Temp0rary!Passw0rd#1"


@pytest.fixture
def router() -> respx.Router:
    return respx.Router(base_url=BASE)


@pytest.fixture
def client(router: respx.Router) -> ChatwootPlatformClient:
    return ChatwootPlatformClient(
        base_url=BASE, platform_token=TOKEN, transport=httpx.MockTransport(router.handler)
    )


def checked(route: respx.Route, *, undocumented_body: bool = False) -> httpx.Request:
    request = route.calls.last.request
    assert request.headers["api_access_token"] == TOKEN
    assert TOKEN not in str(request.url)
    chatwoot_spec().validate(request, undocumented_body=undocumented_body)
    return request


async def test_create_user(router: respx.Router, client: ChatwootPlatformClient) -> None:
    route = router.post("/platform/api/v1/users").respond(
        200, json=load_contract("chatwoot/examples/platform.users.create.response.json")
    )
    user = await client.create_user(
        name="Alex Agent", email="alex.agent@example.com", password=PASSWORD
    )
    body = json.loads(checked(route).content)
    assert body == {"name": "Alex Agent", "email": "alex.agent@example.com", "password": PASSWORD}
    assert (user.id, user.confirmed) == (3, True)
    assert "FakeUserAccessToken00001" not in repr(user)


async def test_create_user_error_hides_password(
    router: respx.Router, client: ChatwootPlatformClient
) -> None:
    router.post("/platform/api/v1/users").respond(422, json={"message": f"bad {PASSWORD}"})
    with pytest.raises(PermanentDeliveryError) as caught:
        await client.create_user(name="A", email="a@example.com", password=PASSWORD)
    assert PASSWORD not in str(caught.value)


async def test_account_users(router: respx.Router, client: ChatwootPlatformClient) -> None:
    create = router.post("/platform/api/v1/accounts/1/account_users").respond(
        200, json={"id": 9, "account_id": 1, "user_id": 3, "role": "agent"}
    )
    delete = router.delete("/platform/api/v1/accounts/1/account_users").respond(200, json={})
    account_user = await client.create_account_user(1, 3, "agent")
    assert json.loads(checked(create).content) == {"user_id": 3, "role": "agent"}
    assert account_user.role == "agent"
    await client.delete_account_user(1, 3)
    # The swagger documents no body for this DELETE, but the controller reads `user_id` from it
    # (research chatwoot.md §f: "DELETE with {"user_id"} removes").
    request = checked(delete, undocumented_body=True)
    assert json.loads(request.content) == {"user_id": 3}


async def test_login_url(router: respx.Router, client: ChatwootPlatformClient) -> None:
    route = router.get("/platform/api/v1/users/3/login").respond(
        200, json=load_contract("chatwoot/examples/platform.users.login.response.json")
    )
    url = await client.get_login_url(3)
    checked(route)
    assert url.startswith("https://chat.example.com/app/login?email=")
    assert "sso_auth_token=" in url


async def test_non_permissible_user_is_permanent(
    router: respx.Router, client: ChatwootPlatformClient
) -> None:
    router.get("/platform/api/v1/users/4/login").respond(
        401, json={"error": "Non permissible resource"}
    )
    with pytest.raises(PermanentDeliveryError) as caught:
        await client.get_login_url(4)
    assert caught.value.status == 401
    assert TOKEN not in str(caught.value)
