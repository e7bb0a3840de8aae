"""`POST /auth/login` / `POST /auth/logout`: cookies, generic failures, throttling, CSRF."""

from __future__ import annotations

import re

from provisioning.identity.accounts import get_account
from provisioning.rate_limit import ACCOUNT_BASE_DELAY_MS
from provisioning.store import revoke_staff_sessions
from tests.identity.conftest import Hub
from tests.identity.harness import GOOD_PASSWORD, add_employee, set_password

HTML = {"Accept": "text/html"}


async def _staff(hub: Hub, username: str = "kay.ntulo", **kwargs: object) -> None:
    await add_employee(hub.db, username, now_ms=hub.now_ms, **kwargs)  # type: ignore[arg-type]
    await set_password(hub.db, username, GOOD_PASSWORD, now_ms=hub.now_ms)


async def test_form_login_by_username_sets_a_hardened_session_cookie(hub: Hub) -> None:
    await _staff(hub)
    response = await hub.client.post(
        "/auth/login",
        data={"login": "kay.ntulo", "password": GOOD_PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/hub/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hub_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    # BRIDGE_PUBLIC_URL is http://127.0.0.1 in these tests: a Secure cookie would be dropped.
    assert "Secure" not in cookie
    home = await hub.client.get("/hub/", allow_redirects=False)
    assert home.status == 200
    assert "kay.ntulo" in await home.text()


async def test_json_login_by_email_is_case_insensitive(hub: Hub) -> None:
    await _staff(hub)
    response = await hub.client.post(
        "/auth/login",
        json={"email": "KAY.NTULO@MMALLELECTRONICS.CO.ZA", "password": GOOD_PASSWORD},
    )
    assert response.status == 200
    body = await response.json()
    assert body["username"] == "kay.ntulo"
    assert body["must_change_password"] is False
    assert len(body["csrf_token"]) == 64


async def test_unknown_user_wrong_password_and_disabled_get_the_same_answer(hub: Hub) -> None:
    await _staff(hub)
    await _staff(hub, "dee.gone", status="disabled")
    attempts = [
        {"login": "nobody.here", "password": GOOD_PASSWORD},
        {"login": "kay.ntulo", "password": GOOD_PASSWORD + "x"},
        {"login": "dee.gone", "password": GOOD_PASSWORD},  # right password, disabled account
    ]
    json_answers = []
    for attempt in attempts:
        response = await hub.client.post("/auth/login", json=attempt)
        json_answers.append((response.status, await response.json()))
        assert "Set-Cookie" not in response.headers
    assert json_answers[0] == json_answers[1] == json_answers[2]
    assert json_answers[0][0] == 401
    assert json_answers[0][1]["error"]["code"] == "invalid_credentials"
    pages = []
    for attempt in attempts:
        response = await hub.client.post("/auth/login", data=attempt)
        assert response.status == 401
        page = await response.text()
        assert "The username/email or the password is not correct." in page
        # The form keeps what was typed; apart from that and the CSP nonce, pages are equal.
        page = page.replace(attempt["login"], "LOGIN")
        pages.append(re.sub(r'nonce="[^"]+"', "nonce", page))
    assert pages[0] == pages[1] == pages[2]


async def test_account_lockout_answers_429_and_expires(hub: Hub) -> None:
    await _staff(hub)
    for _ in range(5):
        wrong = await hub.client.post("/auth/login", json={"login": "kay.ntulo", "password": "x"})
        assert wrong.status == 401
    # Locked now, even for the right password and when the email is used instead.
    locked = await hub.client.post(
        "/auth/login", json={"login": "kay.ntulo@mmallelectronics.co.za", "password": GOOD_PASSWORD}
    )
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) == ACCOUNT_BASE_DELAY_MS // 1000
    assert (await locked.json())["error"]["code"] == "too_many_attempts"
    html = await hub.client.post("/auth/login", data={"login": "kay.ntulo", "password": "x"})
    assert html.status == 429
    assert "Too many sign-in attempts" in await html.text()
    hub.clock.advance(ACCOUNT_BASE_DELAY_MS)
    ok = await hub.client.post(
        "/auth/login", json={"login": "kay.ntulo", "password": GOOD_PASSWORD}
    )
    assert ok.status == 200


async def test_per_ip_limit_applies_across_accounts(hub: Hub) -> None:
    proxy_client_ip = {"X-Real-IP": "203.0.113.9"}
    for n in range(20):
        response = await hub.client.post(
            "/auth/login", json={"login": f"user{n}", "password": "x"}, headers=proxy_client_ip
        )
        assert response.status == 401
    blocked = await hub.client.post(
        "/auth/login", json={"login": "user99", "password": "x"}, headers=proxy_client_ip
    )
    assert blocked.status == 429
    other_ip = await hub.client.post(
        "/auth/login", json={"login": "user99", "password": "x"}, headers={"X-Real-IP": "10.1.1.1"}
    )
    assert other_ip.status == 401


async def test_next_is_followed_only_for_local_paths(hub: Hub) -> None:
    await _staff(hub)
    for given, expected in [
        ("/hub/inbox", "/hub/inbox"),
        ("https://evil.example/", "/hub/"),
        ("//evil.example/x", "/hub/"),
        ("/\\evil.example", "/hub/"),
    ]:
        response = await hub.client.post(
            "/auth/login",
            data={"login": "kay.ntulo", "password": GOOD_PASSWORD, "next": given},
            allow_redirects=False,
        )
        assert response.headers["Location"] == expected, given


async def test_generated_password_login_goes_to_the_password_change(hub: Hub) -> None:
    await add_employee(hub.db, "kay.ntulo", now_ms=hub.now_ms)
    await set_password(hub.db, "kay.ntulo", GOOD_PASSWORD, now_ms=hub.now_ms, must_change=True)
    response = await hub.client.post(
        "/auth/login",
        data={"login": "kay.ntulo", "password": GOOD_PASSWORD, "next": "/hub/inbox"},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/hub/password"
    as_json = await hub.client.post(
        "/auth/login", json={"login": "kay.ntulo", "password": GOOD_PASSWORD}
    )
    assert (await as_json.json())["must_change_password"] is True


async def test_login_from_a_foreign_origin_is_refused(hub: Hub) -> None:
    await _staff(hub)
    response = await hub.client.post(
        "/auth/login",
        data={"login": "kay.ntulo", "password": GOOD_PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403
    assert "Set-Cookie" not in response.headers
    same = await hub.client.post(
        "/auth/login",
        data={"login": "kay.ntulo", "password": GOOD_PASSWORD},
        headers={"Origin": "http://127.0.0.1:8080"},  # BRIDGE_PUBLIC_URL
        allow_redirects=False,
    )
    assert same.status == 303


async def test_incomplete_login_form_is_422(hub: Hub) -> None:
    response = await hub.client.post("/auth/login", data={"login": "kay.ntulo"})
    assert response.status == 422
    assert 'id="password"' in await response.text()
    as_json = await hub.client.post("/auth/login", json={"password": "x"})
    assert as_json.status == 422


async def test_logout_needs_the_csrf_token_and_revokes_the_session(hub: Hub) -> None:
    await _staff(hub)
    login = await hub.client.post(
        "/auth/login", json={"login": "kay.ntulo", "password": GOOD_PASSWORD}
    )
    csrf = (await login.json())["csrf_token"]
    forged = await hub.client.post("/auth/logout", data={"csrf_token": "0" * 64})
    assert forged.status == 403
    assert (await hub.client.get("/hub/", allow_redirects=False)).status == 200
    out = await hub.client.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status == 200
    assert await out.json() == {"ok": True}
    # Even a copy of the old cookie no longer works: the session is revoked server-side.
    home = await hub.client.get("/hub/", allow_redirects=False)
    assert home.status == 302
    assert home.headers["Location"].startswith("/hub/login")


async def test_form_logout_redirects_to_the_login_page(hub: Hub) -> None:
    await _staff(hub)
    await hub.client.post("/auth/login", data={"login": "kay.ntulo", "password": GOOD_PASSWORD})
    home = await (await hub.client.get("/hub/")).text()
    csrf = home.split('name="csrf_token" value="')[1].split('"')[0]
    out = await hub.client.post("/auth/logout", data={"csrf_token": csrf}, allow_redirects=False)
    assert out.status == 303
    assert out.headers["Location"] == "/hub/login"
    assert (await hub.client.get("/hub/", allow_redirects=False)).status == 302


async def test_deprovisioning_revokes_sessions(hub: Hub) -> None:
    await _staff(hub)
    await hub.client.post("/auth/login", json={"login": "kay.ntulo", "password": GOOD_PASSWORD})
    assert (await hub.client.get("/hub/", allow_redirects=False)).status == 200
    assert await revoke_staff_sessions(hub.db, "kay.ntulo", hub.now_ms) == 1
    assert (await hub.client.get("/hub/", allow_redirects=False)).status == 302


async def test_sessions_expire(hub: Hub) -> None:
    await _staff(hub)
    await hub.client.post("/auth/login", json={"login": "kay.ntulo", "password": GOOD_PASSWORD})
    account = await get_account(hub.db, "kay.ntulo")
    assert account is not None
    hub.clock.advance(12 * 3600 * 1000)
    assert (await hub.client.get("/hub/", allow_redirects=False)).status == 302
