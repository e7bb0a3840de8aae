"""`GET /sso/chatwoot`: session or hub bearer → a fresh one-time Chatwoot login URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.identity.conftest import Hub, HubFactory
from tests.identity.harness import (
    GOOD_PASSWORD,
    add_employee,
    chatwoot_user,
    hub_token,
    set_password,
    unsigned_token,
)

EMAIL = "kay.ntulo@mmallelectronics.co.za"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


async def _signed_in(hub: Hub, *, cw: bool = True, status: str = "active") -> int | None:
    cw_user_id = chatwoot_user(hub.chatwoot.state, EMAIL) if cw else None
    await add_employee(hub.db, "kay.ntulo", now_ms=hub.now_ms, cw_user_id=cw_user_id)
    await set_password(hub.db, "kay.ntulo", GOOD_PASSWORD, now_ms=hub.now_ms)
    login = await hub.client.post(
        "/auth/login", json={"login": "kay.ntulo", "password": GOOD_PASSWORD}
    )
    assert login.status == 200
    if status != "active":
        await hub.db.execute(
            "UPDATE employees SET status = $1 WHERE username = 'kay.ntulo'", status
        )
    return cw_user_id


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


async def test_without_login_browsers_go_to_the_login_page_and_api_clients_get_401(
    hub: Hub,
) -> None:
    browser = await hub.client.get(
        "/sso/chatwoot?conversation=7", headers=BROWSER, allow_redirects=False
    )
    assert browser.status == 302
    location = browser.headers["Location"]
    assert location.startswith("/hub/login?")
    assert _query(location)["next"] == ["/sso/chatwoot?conversation=7"]
    api = await hub.client.get("/sso/chatwoot", allow_redirects=False)
    assert api.status == 401
    assert (await api.json())["error"]["code"] == "unauthorized"
    as_json = await hub.client.get(
        "/sso/chatwoot?format=json", headers=BROWSER, allow_redirects=False
    )
    assert as_json.status == 401


async def test_session_redirects_to_a_fresh_chatwoot_login_url(hub: Hub) -> None:
    await _signed_in(hub)
    first = await hub.client.get("/sso/chatwoot", headers=BROWSER, allow_redirects=False)
    assert first.status == 302
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["Referrer-Policy"] == "no-referrer"
    url = first.headers["Location"]
    assert url.startswith(f"{hub.chatwoot.url}/app/login?")
    query = _query(url)
    assert query["email"] == [EMAIL]
    assert query["sso_account_id"] == ["1"]
    assert "sso_conversation_id" not in query
    second = await hub.client.get("/sso/chatwoot", headers=BROWSER, allow_redirects=False)
    # Never cached: each visit asks Chatwoot for a new single-use token.
    assert _query(second.headers["Location"])["sso_auth_token"] != query["sso_auth_token"]
    async with aiohttp.ClientSession() as browser:
        async with browser.get(url) as landing:
            assert landing.status == 200
            assert f"Signed in as {EMAIL}" in await landing.text()
        async with browser.get(url) as reused:
            assert reused.status == 401  # Chatwoot's token is single use
    sessions = hub.chatwoot.state.sessions
    assert [s["account_id"] for s in sessions] == ["1"]


async def test_format_json_and_conversation_deep_link(hub: Hub) -> None:
    await _signed_in(hub)
    response = await hub.client.get("/sso/chatwoot?format=json&conversation=42")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    url = (await response.json())["url"]
    query = _query(url)
    assert query["sso_account_id"] == ["1"]
    assert query["sso_conversation_id"] == ["42"]
    bad = await hub.client.get("/sso/chatwoot?format=json&conversation=abc")
    assert bad.status == 422


async def test_hub_bearer_token_is_accepted_once(hub: Hub) -> None:
    chatwoot_user(hub.chatwoot.state, EMAIL)
    await add_employee(hub.db, "kay.ntulo", now_ms=hub.now_ms)  # no cw_user_id recorded
    now_s = hub.now_ms // 1000
    token = hub_token(EMAIL, now_s=now_s, jti="once")
    auth = {"Authorization": f"Bearer {token}"}
    first = await hub.client.get("/sso/chatwoot", headers=auth, allow_redirects=False)
    assert first.status == 302
    assert first.headers["Location"].startswith(f"{hub.chatwoot.url}/app/login?")
    replay = await hub.client.get(
        "/sso/chatwoot", headers={**auth, **BROWSER}, allow_redirects=False
    )
    assert replay.status == 401
    assert "already used" in (await replay.json())["error"]["message"]
    assert "Location" not in replay.headers
    # The user id found by email was recorded for next time.
    row = await hub.db.fetchrow("SELECT cw_user_id FROM employees WHERE username = 'kay.ntulo'")
    assert row is not None
    assert row["cw_user_id"] is not None


async def test_refused_bearer_tokens_are_401_never_a_redirect(hub: Hub) -> None:
    await _signed_in(hub)  # a valid session cookie must not rescue a bad bearer token
    now_s = hub.now_ms // 1000
    bad_tokens = {
        "expired": hub_token(EMAIL, now_s=now_s - 400, lifetime_s=300, jti="a"),
        "wrong signature": hub_token(EMAIL, now_s=now_s, jti="b", secret="not-the-secret-0000"),
        "alg none": unsigned_token(EMAIL, now_s=now_s),
        "too long lived": hub_token(EMAIL, now_s=now_s, lifetime_s=301, jti="c"),
        "issued in the future": hub_token(EMAIL, now_s=now_s + 600, jti="d"),
        "unknown staff": hub_token("someone@else.example", now_s=now_s, jti="e"),
        "garbage": "not-a-jwt",
    }
    for label, token in bad_tokens.items():
        for scheme in ("Bearer", "bearer"):
            response = await hub.client.get(
                "/sso/chatwoot",
                headers={"Authorization": f"{scheme} {token}", **BROWSER},
                allow_redirects=False,
            )
            assert response.status == 401, label
            assert response.headers["WWW-Authenticate"].startswith("Bearer"), label
            assert (await response.json())["error"]["code"] == "invalid_token", label
    basic = await hub.client.get("/sso/chatwoot", headers={"Authorization": "Basic eDp5"})
    assert basic.status == 401


async def test_bearer_without_configured_secret_is_refused(hub_factory: HubFactory) -> None:
    hub = await hub_factory(hub_sso_secret="")
    chatwoot_user(hub.chatwoot.state, EMAIL)
    await add_employee(hub.db, "kay.ntulo", now_ms=hub.now_ms)
    # Signed with what an operator might assume the default is: still refused.
    token = hub_token(EMAIL, now_s=hub.now_ms // 1000, secret="x" * 32, jti="x")
    response = await hub.client.get("/sso/chatwoot", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401


async def test_disabled_staff_get_403_with_a_session_or_a_bearer(hub: Hub) -> None:
    await _signed_in(hub, status="disabled")
    browser = await hub.client.get("/sso/chatwoot", headers=BROWSER, allow_redirects=False)
    assert browser.status == 403
    assert "disabled" in await browser.text()
    api = await hub.client.get("/sso/chatwoot?format=json")
    assert api.status == 403
    assert (await api.json())["error"]["code"] == "staff_disabled"
    token = hub_token(EMAIL, now_s=hub.now_ms // 1000, jti="disabled")
    bearer = await hub.client.get("/sso/chatwoot", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status == 403
    assert hub.chatwoot.state.sso_tokens == {}


async def test_password_change_comes_before_chatwoot(hub: Hub) -> None:
    chatwoot_user(hub.chatwoot.state, EMAIL)
    await add_employee(hub.db, "kay.ntulo", now_ms=hub.now_ms)
    await set_password(hub.db, "kay.ntulo", GOOD_PASSWORD, now_ms=hub.now_ms, must_change=True)
    await hub.client.post("/auth/login", json={"login": "kay.ntulo", "password": GOOD_PASSWORD})
    browser = await hub.client.get("/sso/chatwoot", headers=BROWSER, allow_redirects=False)
    assert browser.status == 302
    assert browser.headers["Location"] == "/hub/password"
    api = await hub.client.get("/sso/chatwoot?format=json")
    assert api.status == 403
    assert (await api.json())["error"]["code"] == "password_change_required"


async def test_missing_chatwoot_user_is_409_and_chatwoot_errors_are_502(hub: Hub) -> None:
    await _signed_in(hub, cw=False)
    missing = await hub.client.get("/sso/chatwoot?format=json")
    assert missing.status == 409
    assert (await missing.json())["error"]["code"] == "chatwoot_user_missing"
    await hub.db.execute("UPDATE employees SET cw_user_id = 9999 WHERE username = 'kay.ntulo'")
    broken = await hub.client.get("/sso/chatwoot?format=json")
    assert broken.status == 502
    assert (await broken.json())["error"]["code"] == "chatwoot_unavailable"


async def test_without_a_platform_token_sso_is_503(hub_factory: HubFactory) -> None:
    hub = await hub_factory(chatwoot_platform_token=None)
    await _signed_in(hub)
    response = await hub.client.get("/sso/chatwoot?format=json")
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "sso_not_configured"
