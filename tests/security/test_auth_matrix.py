"""Every route × bad credentials → 401/403 (or 410 for dead links), and nothing changed.

Nothing changed: no event stored (the webhook counters say `rejected`, never `stored`), no call
to any upstream (the recording upstream saw nothing), and no secret in any answer, in /metrics
or in the log.
"""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest

from bridge.app import create_app
from tests.factories import make_departments, make_settings
from tests.security.payloads import chatwoot_signature, evolution_samples
from tests.security.target import Target

UPSERT = next(s for s in evolution_samples() if s["event"] == "messages.upsert")
RAW = json.dumps(UPSERT).encode()
JSON = {"Content-Type": "application/json"}


def _jwt(secret: str, **claims: object) -> str:
    now = int(time.time())
    body = {"iat": now, "exp": now + 60, "jti": "j-1", "sub": "kay.ntulo@mmallelectronics.co.za"}
    body.update(claims)
    return jwt.encode(body, secret, algorithm="HS256")


def _cases(target: Target) -> list[tuple[str, str, dict[str, str], bytes, set[int]]]:
    """(method, path, headers, body, acceptable statuses)."""
    old = int(time.time()) - 3 * 3600
    expired = _jwt(target.secrets["evolution"], iat=old, exp=old + 600)
    forged = _jwt("not-the-secret-at-all-000000000000")
    stale_ts = str(int(time.time()) - 301)
    stale_sig = chatwoot_signature(target.secrets["chatwoot"], stale_ts, RAW)
    now_ts = str(int(time.time()))
    denied = {401}
    cases: list[tuple[str, str, dict[str, str], bytes, set[int]]] = []
    for path in ("/webhooks/evolution", "/webhooks/evolution/messages-upsert"):
        for headers in (
            {},
            {"X-Webhook-Secret": "wrong"},
            {"X-Webhook-Secret": target.secrets["evolution"] + "x"},
            {"Authorization": f"Bearer {expired}"},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": "Bearer not.a.jwt"},
            {"Authorization": f"Basic {target.secrets['evolution']}"},
        ):
            cases.append(("POST", path, {**JSON, **headers}, RAW, denied))
    for headers, query in (
        ({}, ""),
        ({"X-Chatwoot-Timestamp": now_ts, "X-Chatwoot-Signature": "sha256=00"}, ""),
        ({"X-Chatwoot-Timestamp": stale_ts, "X-Chatwoot-Signature": stale_sig}, ""),
        ({"X-Chatwoot-Signature": stale_sig}, ""),
        ({}, "?token=wrong"),
        ({}, f"?token={target.secrets['chatwoot']}"),  # a signing secret is not the token
    ):
        cases.append(("POST", f"/webhooks/chatwoot{query}", {**JSON, **headers}, RAW, denied))
    typebot = json.dumps({"bridge_contact": "1.x", "department": "DTV"}).encode()
    for headers in ({}, {"X-Webhook-Secret": target.secrets["evolution"]}):
        cases.append(("POST", "/webhooks/typebot", {**JSON, **headers}, typebot, denied))
    admin_routes = [
        ("GET", "/api/dead-letters"),
        ("POST", "/api/dead-letters/1/retry"),
        ("GET", "/api/contacts/mmall/27820000001@s.whatsapp.net"),
        ("GET", "/api/employees"),
        ("POST", "/api/employees"),
        ("GET", "/api/employees/kay.ntulo"),
        ("DELETE", "/api/employees/kay.ntulo"),
        ("POST", "/api/employees/kay.ntulo/retry"),
        ("GET", "/api/audit"),
    ]
    for method, path in admin_routes:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-0000000000"},
            {"Authorization": f"Bearer {target.secrets['evolution']}"},
            {"Authorization": target.secrets["admin"]},  # no scheme
        ):
            cases.append((method, path, {**JSON, **headers}, b"{}", denied))
    hub = target.secrets["hub"]
    old_sso = _jwt(hub, iat=old, exp=old + 60)
    long_sso = _jwt(hub, exp=int(time.time()) + 3600)
    for headers in (
        {"Accept": "application/json"},
        {"Authorization": f"Bearer {old_sso}"},
        {"Authorization": f"Bearer {long_sso}"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {_jwt(hub, jti=None)}"},
    ):
        cases.append(("GET", "/sso/chatwoot?format=json", headers, b"", denied))
    for token in ("unknown-token", "a" * 64):
        cases.append(("GET", f"/onboarding/{token}", {}, b"", {410}))
        cases.append(("POST", f"/onboarding/{token}", JSON, b'{"password": "x"}', {410}))
    return cases


def test_every_route_is_in_the_matrix() -> None:
    """A new route must be added here (or to the public list) before this passes."""
    app = create_app(make_settings(), departments=make_departments())
    routes = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
    }
    public = {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("POST", "/auth/login"),
        ("POST", "/auth/logout"),
        ("GET", "/hub"),
        ("GET", "/hub/"),
        ("GET", "/hub/login"),
        ("GET", "/hub/inbox"),
    }
    covered = {
        ("POST", "/webhooks/evolution"),
        ("POST", "/webhooks/evolution/{event}"),
        ("POST", "/webhooks/chatwoot"),
        ("POST", "/webhooks/typebot"),
        ("GET", "/api/dead-letters"),
        ("POST", "/api/dead-letters/{id}/retry"),
        ("GET", "/api/contacts/{instance}/{jid}"),
        ("GET", "/api/employees"),
        ("POST", "/api/employees"),
        ("GET", "/api/employees/{username}"),
        ("DELETE", "/api/employees/{username}"),
        ("POST", "/api/employees/{username}/retry"),
        ("GET", "/api/audit"),
        ("GET", "/sso/chatwoot"),
        ("GET", "/onboarding/{token}"),
        ("POST", "/onboarding/{token}"),
    }
    unknown = {r for r in routes if r not in public | covered and not r[1].startswith("/hub/")}
    assert unknown == set()


def test_bad_credentials_are_refused_and_change_nothing(target: Target) -> None:
    answers: list[str] = []
    with httpx.Client(base_url=target.url, timeout=30, follow_redirects=False) as http:
        for method, path, headers, body, allowed in _cases(target):
            response = http.request(method, path, headers=headers, content=body or None)
            assert response.status_code in allowed, (method, path, headers, response.text)
            answers.append(response.text)
            answers.append(json.dumps(dict(response.headers)))
        # Portal pages without a session: a redirect to the login page, never the page.
        for path in ("/hub/", "/hub/inbox"):
            response = http.get(path)
            assert response.status_code in (302, 303, 401), (path, response.status_code)
        metrics = http.get("/metrics").text
        assert 'outcome="stored"' not in metrics or all(
            line.endswith(" 0.0")
            for line in metrics.splitlines()
            if 'outcome="stored"' in line and not line.startswith("#")
        )
        ready = http.get("/readyz").json()
        assert ready["checks"]["outbox"]["detail"].startswith("pending=0 ")
    time.sleep(0.5)
    assert target.upstream.calls == []
    leaked = [
        name
        for name, secret in target.secrets.items()
        for text in (*answers, metrics, target.logs())
        if secret in text
    ]
    assert leaked == []


@pytest.mark.parametrize("reuse", [1, 2])
def test_sso_bearer_is_single_use(target: Target, reuse: int) -> None:
    """A hub JWT (valid, unknown staff) is refused; its jti cannot be replayed either way."""
    token = _jwt(target.secrets["hub"], jti=f"replay-{reuse}")
    statuses = [
        httpx.get(
            f"{target.url}/sso/chatwoot?format=json",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).status_code
        for _ in range(reuse + 1)
    ]
    assert statuses[1:] == [401] * reuse
