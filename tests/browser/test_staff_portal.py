"""Staff journeys in headless Chromium: invite → password → sign in → Inbox (Chatwoot SSO)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import BrowserContext, Page, expect

from provisioning.identity.temporary import issue_temporary_password
from tests.browser.conftest import Portal, Screenshots
from tests.identity.harness import (
    GOOD_PASSWORD,
    HASHER,
    OTHER_GOOD_PASSWORD,
    add_employee,
    chatwoot_user,
    invite,
    set_password,
    wall_clock_s,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

EMAIL = "kay.ntulo@mmallelectronics.co.za"


async def _employee(portal: Portal) -> None:
    cw_user_id = chatwoot_user(portal.chatwoot, EMAIL)
    await add_employee(portal.db, "kay.ntulo", now_ms=wall_clock_s() * 1000, cw_user_id=cw_user_id)


async def _sign_in(page: Page, login: str, password: str) -> None:
    await page.get_by_label("Username or work email").fill(login)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in").click()


def _sso_token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sso_auth_token"][0]


async def test_invite_link_set_password_sign_in_and_open_the_inbox(
    portal: Portal, context: BrowserContext, page: Page, shots: Screenshots
) -> None:
    await _employee(portal)
    token = await invite(portal.db, "kay.ntulo", now_ms=wall_clock_s() * 1000)
    await page.goto(f"{portal.url}/onboarding/{token}")
    await expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
    await shots.take(page, "invite-form")

    await page.get_by_label("New password", exact=True).fill("password1234")
    await page.get_by_label("Repeat the new password").fill("password1234")
    await page.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("alert")).to_contain_text("too common")
    await shots.take(page, "weak-password-refused")

    await page.get_by_label("New password", exact=True).fill(GOOD_PASSWORD)
    await page.get_by_label("Repeat the new password").fill(GOOD_PASSWORD)
    await page.get_by_role("button", name="Set password").click()
    await expect(page.get_by_role("heading", name="Password set")).to_be_visible()
    await shots.take(page, "password-set")

    await page.get_by_role("link", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/hub/login"))
    await _sign_in(page, "kay.ntulo", GOOD_PASSWORD)
    await expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    await shots.take(page, "signed-in-home")

    async with context.expect_page() as opened:
        await page.get_by_role("link", name="Inbox", exact=True).click()
    chatwoot_tab = await opened.value
    await chatwoot_tab.wait_for_load_state()
    assert chatwoot_tab.url.startswith(f"{portal.chatwoot_url}/app/login?")
    query = parse_qs(urlsplit(chatwoot_tab.url).query)
    assert query["email"] == [EMAIL]
    assert query["sso_account_id"] == ["1"]
    await expect(chatwoot_tab.locator("body")).to_contain_text(f"Signed in as {EMAIL}")
    await shots.take(chatwoot_tab, "chatwoot-signed-in")
    first_token = _sso_token(chatwoot_tab.url)

    # The embedded view gets a fresh one-time URL of its own (same-site iframe).
    await page.goto(f"{portal.url}/hub/inbox")
    frame = page.frame_locator("iframe[title='Chatwoot inbox']")
    await expect(frame.locator("body")).to_contain_text(f"Signed in as {EMAIL}")
    await shots.take(page, "embedded-inbox")
    assert len(portal.chatwoot.sessions) == 2
    assert portal.chatwoot.sso_tokens == {}  # every issued token was used exactly once

    # The used invite link now shows the one "no longer valid" page.
    await page.goto(f"{portal.url}/onboarding/{token}")
    await expect(page.get_by_role("heading", name="This link is no longer valid")).to_be_visible()
    await shots.take(page, "invite-link-used")
    assert first_token not in page.url


async def test_generated_password_must_be_changed_first(
    portal: Portal, page: Page, shots: Screenshots
) -> None:
    await _employee(portal)
    temporary = await issue_temporary_password(
        portal.db, "kay.ntulo", hasher=HASHER, now_ms=wall_clock_s() * 1000
    )
    await page.goto(f"{portal.url}/hub/")
    await expect(page).to_have_url(re.compile(r"/hub/login\?next="))
    await _sign_in(page, EMAIL, temporary)
    await expect(page).to_have_url(f"{portal.url}/hub/password")
    await expect(page.get_by_role("status")).to_contain_text("temporary password")
    await shots.take(page, "forced-password-change")

    await page.goto(f"{portal.url}/hub/inbox")
    await expect(page).to_have_url(f"{portal.url}/hub/password")
    await page.goto(f"{portal.url}/sso/chatwoot")
    await expect(page).to_have_url(f"{portal.url}/hub/password")

    await page.get_by_label("New password", exact=True).fill(OTHER_GOOD_PASSWORD)
    await page.get_by_label("Repeat the new password").fill(OTHER_GOOD_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status")).to_contain_text("Your password was changed.")
    await shots.take(page, "password-changed")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{portal.url}/hub/login")
    await _sign_in(page, "kay.ntulo", temporary)
    await expect(page.get_by_role("alert")).to_contain_text("not correct")
    await shots.take(page, "temporary-password-no-longer-works")


async def test_without_login_portal_and_sso_go_to_the_login_page(
    portal: Portal, page: Page, shots: Screenshots
) -> None:
    await _employee(portal)
    await set_password(portal.db, "kay.ntulo", GOOD_PASSWORD, now_ms=wall_clock_s() * 1000)
    await page.goto(f"{portal.url}/hub/")
    assert urlsplit(page.url).path == "/hub/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == ["/hub/"]
    await shots.take(page, "hub-needs-login")

    await page.goto(f"{portal.url}/sso/chatwoot?conversation=5")
    assert urlsplit(page.url).path == "/hub/login"
    assert parse_qs(urlsplit(page.url).query)["next"] == ["/sso/chatwoot?conversation=5"]
    await shots.take(page, "sso-needs-login")

    # Signing in continues to where the browser wanted to go: Chatwoot, deep-linked.
    await _sign_in(page, "kay.ntulo", GOOD_PASSWORD)
    await expect(page.locator("body")).to_contain_text(f"Signed in as {EMAIL}")
    assert page.url.startswith(f"{portal.chatwoot_url}/app/login?")
    assert parse_qs(urlsplit(page.url).query)["sso_conversation_id"] == ["5"]
    await shots.take(page, "sso-after-login")
    assert portal.chatwoot.sessions[-1]["conversation_id"] == "5"
