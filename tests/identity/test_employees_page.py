"""`/hub/employees` against the simulators: add, list with steps, disable; then the new
employee's invite → password → sign in → Chatwoot SSO, all through the bridge's HTTP surface."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aiohttp import ClientResponse

from provisioning.identity.config import IDENTITY
from provisioning.identity.sessions import find_session
from tests.identity.harness import GOOD_PASSWORD, HASHER, add_employee, set_password
from tests.provisioning.employees.conftest import SimEnv, sim_env, stack

__all__ = ["sim_env", "stack"]  # fixtures shared with the provisioning tests

NEW = {
    "first_name": "Kay",
    "last_name": "Ntulo",
    "personal_email": "kay.personal@example.org",
    "department": "DTV",
    "role": "agent",
    "phone": "",
}


COOKIE = "__Host-hub_session"  # BRIDGE_PUBLIC_URL is http://bridge.test: Secure cookie


def _keep_cookie(env: SimEnv, response: ClientResponse) -> str:
    """The test client speaks plain http and would withhold a Secure cookie: copy it over."""
    value = response.cookies[COOKIE].value
    jar = env.client.session.cookie_jar
    jar.clear()
    jar.update_cookies({COOKIE: value}, env.client.make_url("/"))
    return value


async def _admin_session(env: SimEnv) -> str:
    env.app[IDENTITY].hasher = HASHER
    now = env.clock.ms
    await add_employee(env.db, "ada.admin", now_ms=now, role="administrator", email="ada@x.test")
    await set_password(env.db, "ada.admin", GOOD_PASSWORD, now_ms=now)
    return await _admin_login_again(env)


async def test_admin_adds_and_disables_an_employee_from_the_portal(sim_env: SimEnv) -> None:
    env = sim_env
    csrf = await _admin_session(env)
    page = await env.client.get("/hub/employees")
    assert page.status == 200
    html = await page.text()
    assert '<label for="personal_email">' in html
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert key is not None
    form = {**NEW, "csrf_token": csrf, "idempotency_key": key.group(1)}
    no_csrf = await env.client.post("/hub/employees", data={**form, "csrf_token": "x"})
    assert no_csrf.status == 403
    added = await env.client.post("/hub/employees", data=form, allow_redirects=False)
    assert added.status == 303
    assert added.headers["Location"] == "/hub/employees?notice=created&username=kay.ntulo"
    again = await env.client.post("/hub/employees", data=form, allow_redirects=False)
    assert again.status == 303  # the same form submitted twice: still one employee
    listing = await (await env.client.get("/hub/employees?notice=created")).text()
    assert "Employee added." in listing
    row = listing.split('id="employee-kay.ntulo"')[1].split("</tr>")[0]
    assert row.count("<td>done</td>") == 5
    assert "kay.ntulo1" not in listing

    # The invitation reached the personal address; the new agent signs in and opens Chatwoot.
    assert env.stack.smtp is not None
    mail = env.stack.smtp.sink.to(NEW["personal_email"])[-1]
    link = re.search(r"http://bridge\.test(/onboarding/[A-Za-z0-9_-]+)", mail.body)
    assert link is not None
    agent = env.client  # same cookie jar: sign the admin out first
    await agent.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    password = {
        "password": "Copper-Meadow-Signal-58",
        "password_confirm": "Copper-Meadow-Signal-58",
    }
    assert (await agent.post(link.group(1), data=password)).status == 200
    login = await agent.post(
        "/auth/login",
        json={"login": "kay.ntulo@mmallelectronics.co.za", "password": password["password"]},
    )
    assert login.status == 200
    agent_cookie = _keep_cookie(env, login)
    sso = await agent.get("/sso/chatwoot?format=json")
    assert sso.status == 200
    url = (await sso.json())["url"]
    assert urlsplit(url).path == "/app/login"
    assert "Employees" not in await (await agent.get("/hub/")).text()
    assert (await agent.get("/hub/employees")).status == 403

    # Back as the administrator: disable the agent, whose session ends at once.
    assert await find_session(env.db, agent_cookie, now_ms=env.clock.ms) is not None
    csrf = await _admin_login_again(env)
    disabled = await env.client.post(
        "/hub/employees/kay.ntulo/disable", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert disabled.status == 303
    listing = await (await env.client.get("/hub/employees")).text()
    assert "disabled" in listing.split('id="employee-kay.ntulo"')[1].split("</tr>")[0]
    assert await find_session(env.db, agent_cookie, now_ms=env.clock.ms) is None


async def _admin_login_again(env: SimEnv) -> str:
    login = await env.client.post(
        "/auth/login", json={"login": "ada.admin", "password": GOOD_PASSWORD}
    )
    assert login.status == 200
    _keep_cookie(env, login)
    csrf: str = (await login.json())["csrf_token"]
    return csrf
