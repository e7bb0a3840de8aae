"""Small pure pieces: next-path safety, cookie policy, deep links, CSRF tokens, client IP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import make_mocked_request

from provisioning.identity.chatwoot_login import with_deep_link
from provisioning.identity.config import CookiePolicy
from provisioning.identity.request_info import client_ip, safe_next
from provisioning.identity.sessions import csrf_token_for
from provisioning.tokens import new_session_id
from tests.factories import make_settings


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/hub/inbox", "/hub/inbox"),
        ("/sso/chatwoot?conversation=3", "/sso/chatwoot?conversation=3"),
        (None, "/hub/"),
        ("", "/hub/"),
        ("hub/", "/hub/"),
        ("//evil.example", "/hub/"),
        ("/\\evil.example", "/hub/"),
        ("https://evil.example/hub/", "/hub/"),
        ("/hub/\r\nSet-Cookie: x=1", "/hub/"),
        ("/" + "a" * 600, "/hub/"),
    ],
)
def test_safe_next_only_allows_local_paths(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


@pytest.mark.parametrize(
    ("public_url", "secure", "name"),
    [
        ("http://localhost:8080", False, "hub_session"),
        ("http://127.0.0.1:8080", False, "hub_session"),
        ("https://hub.example.com", True, "__Host-hub_session"),
        ("http://hub.example.com", True, "__Host-hub_session"),
    ],
)
def test_cookie_is_secure_except_on_localhost(public_url: str, secure: bool, name: str) -> None:
    policy = CookiePolicy.from_settings(make_settings(bridge_public_url=public_url))
    assert (policy.secure, policy.name) == (secure, name)


def test_deep_link_parameters_are_appended() -> None:
    base = "https://chat.example.com/app/login?email=kay%40x.example&sso_auth_token=ab12"
    url = with_deep_link(base, 3, 42)
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "email": ["kay@x.example"],
        "sso_auth_token": ["ab12"],
        "sso_account_id": ["3"],
        "sso_conversation_id": ["42"],
    }
    assert url.startswith(base)
    assert parse_qs(urlsplit(with_deep_link("https://c.example/app/login", 1, None)).query) == {
        "sso_account_id": ["1"]
    }


def test_csrf_tokens_differ_per_session_and_are_stable() -> None:
    a, b = new_session_id().plain, new_session_id().plain
    assert csrf_token_for(a) == csrf_token_for(a)
    assert csrf_token_for(a) != csrf_token_for(b)
    assert a not in csrf_token_for(a)


def _request(peer: str, headers: dict[str, str]) -> Any:
    transport: Any = type("T", (), {"get_extra_info": lambda self, name, default=None: (peer, 1)})()
    return make_mocked_request("POST", "/auth/login", headers=headers, transport=transport)


def test_x_real_ip_is_trusted_only_from_a_private_proxy() -> None:
    assert client_ip(_request("10.0.0.5", {"X-Real-IP": "203.0.113.7"})) == "203.0.113.7"
    assert client_ip(_request("127.0.0.1", {"X-Real-IP": "203.0.113.7"})) == "203.0.113.7"
    assert client_ip(_request("8.8.8.8", {"X-Real-IP": "203.0.113.7"})) == "8.8.8.8"
    assert client_ip(_request("10.0.0.5", {"X-Real-IP": "not-an-ip"})) == "10.0.0.5"
    assert client_ip(_request("10.0.0.5", {})) == "10.0.0.5"
