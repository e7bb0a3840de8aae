"""Staff vs administrator vs disabled staff, and one-time tokens, with real staff members.

Each staff member is provisioned through /api/employees, sets a password through the mailed
link and signs in, against the simulators; every test runs on SQLite and PostgreSQL. Where
access is refused, the database rows and the simulators' state must be exactly as before.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import aiohttp

from provisioning.tokens import INVITE_TTL_MS
from tests.factories import TEST_SECRETS
from tests.identity.harness import hub_token, invite
from tests.provisioning.employees.conftest import ADMIN, SimEnv, sim_env, stack
from tests.security.staff import (
    StaffBrowser,
    password_form,
    provision,
    sign_in,
    snapshot,
    staff_member,
)

__all__ = ["sim_env", "stack"]  # fixtures shared with the provisioning tests

AGENT_PASSWORD = "Quiet-Harbour-Lantern-42"
ADMIN_PASSWORD = "Amber-Falcon-Orchard-77"
NONCE = re.compile(r'nonce="[^"]*"')
BROWSER = {"Accept": "text/html,application/xhtml+xml"}
NEW_EMPLOYEE = {
    "first_name": "Lee",
    "last_name": "Mokoena",
    "personal_email": "lee.personal@example.org",
    "department": "DTV",
    "role": "agent",
    "phone": "",
}
# Every admin API route; each gets the staff cookie, its CSRF token and a valid employee body.
API_ROUTES = (
    ("GET", "/api/employees"),
    ("POST", "/api/employees"),
    ("GET", "/api/employees/kay.ntulo"),
    ("DELETE", "/api/employees/kay.ntulo"),
    ("POST", "/api/employees/kay.ntulo/retry"),
    ("GET", "/api/audit"),
)


def _page(status: int, text: str) -> tuple[int, str]:
    """An answer without its per-response CSP nonce (the only part meant to differ)."""
    return status, NONCE.sub('nonce=""', text)


def _sso_token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sso_auth_token"][0]


def _hub_jwt(env: SimEnv, sub: str, jti: str) -> str:
    return hub_token(
        sub, now_s=env.clock.ms // 1000, jti=jti, secret=TEST_SECRETS["hub_sso_secret"]
    )


async def _api_refused(browser: StaffBrowser) -> None:
    """The staff session (even with its CSRF token) never stands in for the admin bearer."""
    for method, path in API_ROUTES:
        headers = browser.headers(**{"X-CSRF-Token": browser.csrf})
        response = await browser.env.client.request(
            method, path, json=NEW_EMPLOYEE, headers=headers, allow_redirects=False
        )
        assert response.status == 401, (method, path, await response.text())
        assert (await response.json())["error"]["code"] == "unauthorized", (method, path)


async def test_agent_is_refused_admin_pages_and_api_and_gets_fresh_sso_urls(
    sim_env: SimEnv,
) -> None:
    env = sim_env
    agent = await staff_member(env, "Kay", "Ntulo", AGENT_PASSWORD)
    home = await agent.get("/hub/")
    assert home.status == 200
    assert "/hub/employees" not in await home.text()

    before = await snapshot(env)
    assert (await agent.get("/hub/employees")).status == 403
    page_posts = {
        "/hub/employees": {**NEW_EMPLOYEE, "idempotency_key": "agent-try"},
        "/hub/employees/kay.ntulo/retry": {},
        "/hub/employees/kay.ntulo/disable": {},
    }
    for path, form in page_posts.items():
        response = await agent.post(path, data={**form, "csrf_token": agent.csrf})
        assert response.status == 403, path
        assert "Only administrators" in await response.text()
    await _api_refused(agent)
    assert await snapshot(env) == before
    assert (await agent.get("/hub/")).status == 200  # the refusals did not end the session

    # Each visit asks Chatwoot for a new single-use login URL.
    first = await agent.get("/sso/chatwoot", **BROWSER)
    second = await agent.get("/sso/chatwoot", **BROWSER)
    assert (first.status, second.status) == (302, 302)
    chatwoot_login = f"{env.stack.urls['chatwoot']}/app/login?"
    assert first.headers["Location"].startswith(chatwoot_login)
    assert second.headers["Location"].startswith(chatwoot_login)
    tokens = {_sso_token(first.headers["Location"]), _sso_token(second.headers["Location"])}
    assert len(tokens) == 2
    assert tokens <= set(env.stack.chatwoot.sso_tokens)


async def test_administrator_adds_from_the_portal_but_needs_the_bearer_for_the_api(
    sim_env: SimEnv,
) -> None:
    env = sim_env
    admin = await staff_member(env, "Ada", "Admin", ADMIN_PASSWORD, role="administrator")
    before = await snapshot(env)
    await _api_refused(admin)
    no_csrf = await admin.post("/hub/employees", data={**NEW_EMPLOYEE, "csrf_token": "forged"})
    assert no_csrf.status == 403
    assert await snapshot(env) == before

    page = await admin.get("/hub/employees")
    assert page.status == 200
    assert "ada.admin" in await page.text()
    form = {**NEW_EMPLOYEE, "csrf_token": admin.csrf, "idempotency_key": "portal-add-1"}
    added = await admin.post("/hub/employees", data=form)
    assert added.status == 303, await added.text()
    assert added.headers["Location"] == "/hub/employees?notice=created&username=lee.mokoena"

    audit = await env.client.get("/api/audit", params={"target": "lee.mokoena"}, headers=ADMIN)
    assert audit.status == 200
    entries = (await audit.json())["entries"]
    # The saga's own steps are logged as `system`; the request itself names the administrator.
    creates = [(e["actor"], e["outcome"]) for e in entries if e["action"] == "employee.create"]
    assert creates == [("staff:ada.admin", "active")]
    employee = await env.client.get("/api/employees/lee.mokoena", headers=ADMIN)
    assert (await employee.json())["status"] == "active"


async def test_disabled_staff_member_is_locked_out_and_login_says_nothing_more(
    sim_env: SimEnv,
) -> None:
    env = sim_env
    agent = await staff_member(env, "Kay", "Ntulo", AGENT_PASSWORD)
    assert (await agent.get("/hub/")).status == 200
    disabled = await env.client.delete("/api/employees/kay.ntulo", headers=ADMIN)
    assert disabled.status == 200
    assert (await disabled.json())["status"] == "disabled"

    before = await snapshot(env)
    for path in ("/hub/", "/hub/inbox", "/hub/employees"):
        response = await agent.get(path)
        assert response.status == 302, path
        assert response.headers["Location"].startswith("/hub/login"), path
    browser_sso = await agent.get("/sso/chatwoot", **BROWSER)
    assert browser_sso.status == 302
    assert browser_sso.headers["Location"].startswith("/hub/login?")
    api_sso = await agent.get("/sso/chatwoot?format=json")
    assert api_sso.status == 401
    # The revoked session's CSRF token changes nothing either: back to the login page.
    password_change = await agent.post(
        "/hub/password", data={**password_form("Brand-New-Password-99"), "csrf_token": agent.csrf}
    )
    assert password_change.status == 302
    assert password_change.headers["Location"].startswith("/hub/login?")

    answers: list[tuple[int, str]] = []
    for password in (AGENT_PASSWORD, "Wrong-Password-000000"):
        response = await env.client.post(
            "/auth/login", json={"login": "kay.ntulo", "password": password}
        )
        answers.append(_page(response.status, await response.text()))
        form = await env.client.post(
            "/auth/login", data={"login": "kay.ntulo", "password": password, "next": "/hub/"}
        )
        answers.append(_page(form.status, await form.text()))
    right_json, right_form, wrong_json, wrong_form = answers
    assert right_json == wrong_json
    assert right_json[0] == 401
    assert right_form == wrong_form
    assert right_form[0] == 401
    assert await snapshot(env) == before

    # A hub bearer token for the disabled member: 403, and no Chatwoot login URL issued.
    token = _hub_jwt(env, "kay.ntulo@mmallelectronics.co.za", "disabled-1")
    bearer = await env.client.get("/sso/chatwoot", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status == 403
    assert (await bearer.json())["error"]["code"] == "staff_disabled"
    assert (await snapshot(env)).upstream == before.upstream


async def test_onboarding_link_works_once_and_dead_links_look_alike(sim_env: SimEnv) -> None:
    env = sim_env
    username, invite_path = await provision(env, "Kay", "Ntulo")
    assert (await env.client.get(invite_path)).status == 200
    used = await env.client.post(invite_path, data=password_form(AGENT_PASSWORD))
    assert used.status == 200

    before = await snapshot(env)
    second = await env.client.post(invite_path, data=password_form(ADMIN_PASSWORD))
    assert second.status == 410
    assert await snapshot(env) == before
    # The password set through the link is still the one that works.
    await sign_in(env, username, AGENT_PASSWORD)
    refused = await env.client.post(
        "/auth/login", json={"login": username, "password": ADMIN_PASSWORD}
    )
    assert refused.status == 401

    expired_token = await invite(env.db, username, now_ms=env.clock.ms)
    env.clock.advance(INVITE_TTL_MS + 1)
    dead = {
        "used": invite_path,
        "expired": f"/onboarding/{expired_token}",
        "unknown": "/onboarding/" + "A" * 43,
    }
    before = await snapshot(env)
    pages: dict[str, set[tuple[int, str]]] = {"get": set(), "form": set(), "json": set()}
    for path in dead.values():
        page = await env.client.get(path)
        pages["get"].add(_page(page.status, await page.text()))
        form = await env.client.post(path, data=password_form(ADMIN_PASSWORD))
        pages["form"].add(_page(form.status, await form.text()))
        api = await env.client.post(path, json=password_form(ADMIN_PASSWORD))
        pages["json"].add(_page(api.status, await api.text()))
    for kind, answers in pages.items():
        assert len(answers) == 1, kind  # one identical answer for used, expired and unknown
        assert next(iter(answers))[0] == 410, kind
    assert await snapshot(env) == before


async def test_hub_jwt_and_chatwoot_login_urls_are_single_use(sim_env: SimEnv) -> None:
    env = sim_env
    await staff_member(env, "Kay", "Ntulo", AGENT_PASSWORD)
    token = _hub_jwt(env, "kay.ntulo@mmallelectronics.co.za", "real-staff-1")
    auth = {"Authorization": f"Bearer {token}"}
    first = await env.client.get("/sso/chatwoot?format=json", headers=auth)
    assert first.status == 200
    url: str = (await first.json())["url"]

    before = await snapshot(env)
    replay = await env.client.get("/sso/chatwoot?format=json", headers=auth)
    assert replay.status == 401
    assert (await replay.json())["error"]["code"] == "invalid_token"
    assert await snapshot(env) == before

    async with aiohttp.ClientSession() as browser:
        async with browser.get(url) as landing:
            assert landing.status == 200
            assert "Signed in as kay.ntulo@mmallelectronics.co.za" in await landing.text()
        async with browser.get(url) as reused:
            assert reused.status == 401
    assert len(env.stack.chatwoot.sessions) == 1
