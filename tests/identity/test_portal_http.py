"""The `/hub/` portal: login redirects, Inbox button and iframe, headers, password change."""

from __future__ import annotations

from provisioning.identity.accounts import get_account
from provisioning.identity.sessions import create_session, find_session
from provisioning.identity.temporary import issue_temporary_password
from provisioning.passwords import verify_password
from tests.identity.conftest import Hub
from tests.identity.harness import (
    GOOD_PASSWORD,
    HASHER,
    OTHER_GOOD_PASSWORD,
    add_employee,
    set_password,
)


async def _login(hub: Hub, password: str = GOOD_PASSWORD) -> str:
    response = await hub.client.post(
        "/auth/login", json={"login": "kay.ntulo", "password": password}
    )
    assert response.status == 200
    token: str = (await response.json())["csrf_token"]
    return token


async def _staff(hub: Hub, *, must_change: bool = False, role: str = "agent") -> None:
    await add_employee(hub.db, "kay.ntulo", now_ms=hub.now_ms, role=role)
    await set_password(
        hub.db, "kay.ntulo", GOOD_PASSWORD, now_ms=hub.now_ms, must_change=must_change
    )


async def test_portal_pages_without_login_redirect_to_the_login_page(hub: Hub) -> None:
    for path in ("/hub/", "/hub/inbox", "/hub/password"):
        response = await hub.client.get(path, allow_redirects=False)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/hub/login?next=")
    root = await hub.client.get("/hub", allow_redirects=False)
    assert (root.status, root.headers["Location"]) == (301, "/hub/")
    login = await hub.client.get("/hub/login?next=/hub/inbox")
    assert login.status == 200
    page = await login.text()
    assert '<label for="login">' in page
    assert '<label for="password">' in page
    assert 'value="/hub/inbox"' in page
    assert "<script" not in page  # works without JavaScript
    csp = login.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert login.headers["X-Frame-Options"] == "DENY"


async def test_home_has_the_inbox_button_and_the_embedded_view(hub: Hub) -> None:
    await _staff(hub)
    await _login(hub)
    home = await hub.client.get("/hub/")
    page = await home.text()
    assert 'href="/sso/chatwoot" target="_blank" rel="noopener">Inbox</a>' in page
    assert "Employees" not in page  # agents do not see the administrators' page
    inbox = await hub.client.get("/hub/inbox")
    page = await inbox.text()
    assert '<iframe title="Chatwoot inbox" src="/sso/chatwoot">' in page
    assert "same site" in page
    frame_src = inbox.headers["Content-Security-Policy"].split("frame-src ")[1]
    assert frame_src.startswith(f"'self' {hub.chatwoot.url}")
    login_again = await hub.client.get("/hub/login", allow_redirects=False)
    assert (login_again.status, login_again.headers["Location"]) == (302, "/hub/")


async def test_forced_password_change_blocks_everything_else(hub: Hub) -> None:
    await add_employee(hub.db, "kay.ntulo", now_ms=hub.now_ms)
    temporary = await issue_temporary_password(
        hub.db, "kay.ntulo", hasher=HASHER, now_ms=hub.now_ms
    )
    csrf = await _login(hub, temporary)
    for path in ("/hub/", "/hub/inbox"):
        response = await hub.client.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, "/hub/password")
    form = await hub.client.get("/hub/password")
    page = await form.text()
    assert "temporary password" in page
    assert 'name="current_password"' not in page
    same = await hub.client.post(
        "/hub/password",
        data={"csrf_token": csrf, "password": temporary, "password_confirm": temporary},
    )
    assert same.status == 422
    assert "must differ from your current password" in await same.text()
    changed = await hub.client.post(
        "/hub/password",
        data={"csrf_token": csrf, "password": GOOD_PASSWORD, "password_confirm": GOOD_PASSWORD},
        allow_redirects=False,
    )
    assert changed.status == 303
    assert changed.headers["Location"] == "/hub/?changed=1"
    assert "hub_session=" in changed.headers["Set-Cookie"]
    account = await get_account(hub.db, "kay.ntulo")
    assert account is not None
    assert account.must_change is False
    assert account.password_hash is not None
    assert verify_password(GOOD_PASSWORD, account.password_hash, HASHER)
    home = await hub.client.get("/hub/?changed=1", allow_redirects=False)
    assert home.status == 200
    assert "Your password was changed." in await home.text()


async def test_voluntary_change_needs_the_current_password_and_csrf(hub: Hub) -> None:
    await _staff(hub)
    csrf = await _login(hub)
    elsewhere = await create_session(hub.db, "kay.ntulo", now_ms=hub.now_ms, ttl_ms=60_000)
    new = {"password": OTHER_GOOD_PASSWORD, "password_confirm": OTHER_GOOD_PASSWORD}
    no_csrf = await hub.client.post(
        "/hub/password", data={"current_password": GOOD_PASSWORD, **new}
    )
    assert no_csrf.status == 403
    wrong = await hub.client.post(
        "/hub/password", data={"csrf_token": csrf, "current_password": "nope", **new}
    )
    assert wrong.status == 422
    assert "current password: is not correct" in await wrong.text()
    weak = await hub.client.post(
        "/hub/password",
        data={
            "csrf_token": csrf,
            "current_password": GOOD_PASSWORD,
            "password": "letmein",
            "password_confirm": "letmein",
        },
    )
    assert weak.status == 422
    assert "at least 12 characters" in await weak.text()
    ok = await hub.client.post(
        "/hub/password",
        data={"csrf_token": csrf, "current_password": GOOD_PASSWORD, **new},
        allow_redirects=False,
    )
    assert ok.status == 303
    # Other browsers signed in with the old password are signed out; this one continues.
    assert await find_session(hub.db, elsewhere.plain, now_ms=hub.now_ms) is None
    assert (await hub.client.get("/hub/", allow_redirects=False)).status == 200
    relogin = await hub.client.post(
        "/auth/login", json={"login": "kay.ntulo", "password": OTHER_GOOD_PASSWORD}
    )
    assert relogin.status == 200


async def test_disabled_staff_with_a_session_get_403_pages(hub: Hub) -> None:
    await _staff(hub)
    await _login(hub)
    await hub.db.execute("UPDATE employees SET status = 'disabled' WHERE username = 'kay.ntulo'")
    response = await hub.client.get("/hub/", allow_redirects=False)
    assert response.status == 403
    assert "disabled" in await response.text()
