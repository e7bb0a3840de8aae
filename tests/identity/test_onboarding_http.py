"""`GET`/`POST /onboarding/{token}`: scanner-safe GET, policy, single use, one 410 page."""

from __future__ import annotations

import asyncio
import re

from provisioning.identity.accounts import get_account
from provisioning.identity.sessions import create_session, find_session
from provisioning.passwords import verify_password
from provisioning.tokens import INVITE_TTL_MS, new_token
from tests.identity.conftest import Hub
from tests.identity.harness import GOOD_PASSWORD, HASHER, add_employee, invite


def _form(password: str, confirm: str | None = None) -> dict[str, str]:
    return {"password": password, "password_confirm": password if confirm is None else confirm}


async def _invited(hub: Hub, username: str = "kay.ntulo") -> str:
    await add_employee(hub.db, username, now_ms=hub.now_ms)
    return await invite(hub.db, username, now_ms=hub.now_ms)


async def test_get_shows_the_form_and_never_consumes_the_token(hub: Hub) -> None:
    token = await _invited(hub)
    for _ in range(3):  # mail scanners and link previews fetch the link first
        response = await hub.client.get(f"/onboarding/{token}")
        assert response.status == 200
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
        page = await response.text()
        assert 'method="post"' in page
        assert 'for="password"' in page
        assert "kay.ntulo" in page
    head = await hub.client.head(f"/onboarding/{token}")
    assert head.status == 200
    posted = await hub.client.post(f"/onboarding/{token}", data=_form(GOOD_PASSWORD))
    assert posted.status == 200


async def test_setting_the_password_stores_an_argon2id_hash_and_consumes_the_token(
    hub: Hub,
) -> None:
    token = await _invited(hub)
    response = await hub.client.post(f"/onboarding/{token}", data=_form(GOOD_PASSWORD))
    assert response.status == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Password set" in await response.text()
    account = await get_account(hub.db, "kay.ntulo")
    assert account is not None
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert GOOD_PASSWORD not in account.password_hash
    assert verify_password(GOOD_PASSWORD, account.password_hash, HASHER)
    assert account.must_change is False
    again = await hub.client.get(f"/onboarding/{token}")
    assert again.status == 410
    replay = await hub.client.post(f"/onboarding/{token}", data=_form("Another-Lantern-99x"))
    assert replay.status == 410


async def test_used_expired_and_unknown_links_get_one_identical_page(hub: Hub) -> None:
    used = await _invited(hub, "ann.used")
    assert (await hub.client.post(f"/onboarding/{used}", data=_form(GOOD_PASSWORD))).status == 200
    expired = await _invited(hub, "bob.late")
    hub.clock.advance(INVITE_TTL_MS + 1)
    unknown = new_token().plain
    bodies = set()
    for token in (used, expired, unknown, "not a token!", "x" * 300):
        for method in ("GET", "POST"):
            data = _form(GOOD_PASSWORD) if method == "POST" else None
            response = await hub.client.request(method, f"/onboarding/{token}", data=data)
            assert response.status == 410, (token, method)
            assert response.headers["Referrer-Policy"] == "no-referrer"
            # Only the per-response CSP nonce differs.
            bodies.add(re.sub(r'nonce="[^"]+"', "nonce", await response.text()))
    assert len(bodies) == 1
    assert "no longer valid" in bodies.pop()


async def test_refused_password_answers_422_with_the_form_and_keeps_the_token(hub: Hub) -> None:
    token = await _invited(hub)
    cases = {
        "short1!A": "at least 12 characters",
        "kay.ntulo-Secret-2024": "username or email",
        "password123456": "too common",
    }
    for password, reason in cases.items():
        response = await hub.client.post(f"/onboarding/{token}", data=_form(password))
        assert response.status == 422
        page = await response.text()
        assert reason in page
        assert 'name="password_confirm"' in page
        assert password not in page
    mismatch = await hub.client.post(
        f"/onboarding/{token}", data=_form(GOOD_PASSWORD, GOOD_PASSWORD + "x")
    )
    assert mismatch.status == 422
    assert "do not match" in await mismatch.text()
    account = await get_account(hub.db, "kay.ntulo")
    assert account is not None
    assert account.password_hash is None
    ok = await hub.client.post(f"/onboarding/{token}", data=_form(GOOD_PASSWORD))
    assert ok.status == 200


async def test_json_body_is_accepted_with_json_answers(hub: Hub) -> None:
    token = await _invited(hub)
    refused = await hub.client.post(f"/onboarding/{token}", json=_form("tooshort"))
    assert refused.status == 422
    body = await refused.json()
    assert body["error"]["code"] == "password_refused"
    assert any("12 characters" in reason for reason in body["error"]["reasons"])
    ok = await hub.client.post(f"/onboarding/{token}", json=_form(GOOD_PASSWORD))
    assert ok.status == 200
    assert await ok.json() == {"ok": True, "username": "kay.ntulo"}
    gone = await hub.client.post(f"/onboarding/{token}", json=_form(GOOD_PASSWORD))
    assert gone.status == 410
    assert (await gone.json())["error"]["code"] == "link_invalid"


async def test_wrong_content_type_and_foreign_origin_are_refused(hub: Hub) -> None:
    token = await _invited(hub)
    text = await hub.client.post(
        f"/onboarding/{token}", data=b"password=x", headers={"Content-Type": "text/plain"}
    )
    assert text.status == 415
    foreign = await hub.client.post(
        f"/onboarding/{token}",
        data=_form(GOOD_PASSWORD),
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status == 403
    assert (await hub.client.get(f"/onboarding/{token}")).status == 200


async def test_concurrent_submissions_consume_the_token_once(hub: Hub) -> None:
    token = await _invited(hub)
    responses = await asyncio.gather(
        *(hub.client.post(f"/onboarding/{token}", data=_form(GOOD_PASSWORD)) for _ in range(4))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses == [200, 410, 410, 410]


async def test_a_reissued_invite_revokes_the_earlier_link(hub: Hub) -> None:
    first = await _invited(hub)
    second = await invite(hub.db, "kay.ntulo", now_ms=hub.now_ms)
    assert (await hub.client.get(f"/onboarding/{first}")).status == 410
    assert (await hub.client.post(f"/onboarding/{first}", data=_form(GOOD_PASSWORD))).status == 410
    assert (await hub.client.post(f"/onboarding/{second}", data=_form(GOOD_PASSWORD))).status == 200


async def test_disabled_staff_cannot_use_their_link(hub: Hub) -> None:
    await add_employee(hub.db, "dee.gone", now_ms=hub.now_ms, status="disabled")
    token = await invite(hub.db, "dee.gone", now_ms=hub.now_ms)
    assert (await hub.client.get(f"/onboarding/{token}")).status == 410


async def test_setting_the_password_ends_open_sessions(hub: Hub) -> None:
    token = await _invited(hub)
    session = await create_session(hub.db, "kay.ntulo", now_ms=hub.now_ms, ttl_ms=60_000)
    assert (await hub.client.post(f"/onboarding/{token}", data=_form(GOOD_PASSWORD))).status == 200
    assert await find_session(hub.db, session.plain, now_ms=hub.now_ms) is None
