"""Authentication of the three webhook endpoints: a refused request stores nothing.

Each test runs a matrix of requests against one started app (starting an app per case is slow).
"""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import jwt

from bridge.web.webhook_auth import chatwoot_signature
from tests.contracts_dir import load_contract
from tests.delivery.conftest import EVOLUTION_SECRET, Bridge, StartBridge
from tests.delivery.harness import wa_message
from tests.factories import TEST_SECRETS
from tests.fakes import FakeClock

VECTOR = load_contract("chatwoot/examples/webhook_signature.test_vector.json")
VECTOR_TS = int(VECTOR["headers"]["X-Chatwoot-Timestamp"])
TYPEBOT_SECRET = TEST_SECRETS["typebot_webhook_secret"]
JSON = {"Content-Type": "application/json"}


def mint(claims: dict[str, Any], key: str = EVOLUTION_SECRET) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about short HMAC keys; these are test keys
        return jwt.encode(claims, key, algorithm="HS256")


def unsigned_token(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def stored_nothing(bridge: Bridge) -> bool:
    return await bridge.count("inbound_event") == 0 and await bridge.count("contacts") == 0


# -- Evolution --------------------------------------------------------------------------------


async def test_evolution_static_secret(start_bridge: StartBridge) -> None:
    bridge = await start_bridge()
    refused = {
        "missing": {},
        "wrong": {"X-Webhook-Secret": "wrong-secret-0000"},
        "empty": {"X-Webhook-Secret": ""},
        "prefix": {"X-Webhook-Secret": EVOLUTION_SECRET[:-1]},
        "basic-scheme": {"Authorization": "Basic Zm9vOmJhcg=="},
        "garbage-bearer": {"Authorization": "Bearer not-a-jwt"},
        "bare-secret-as-bearer": {"Authorization": f"Bearer {EVOLUTION_SECRET}"},
    }
    for name, headers in refused.items():
        response = await bridge.post_evolution(wa_message("inst-demo", "2782000001", "M1"), headers)
        assert response.status == 401, name
        assert (await response.json())["error"]["code"] == "unauthorized", name
    assert await stored_nothing(bridge)

    response = await bridge.post_evolution(wa_message("inst-demo", "2782000001", "M1"))
    assert response.status == 200
    assert (await response.json())["stored"] is True
    assert await bridge.count("inbound_event") == 1


async def test_evolution_bearer_jwt(start_bridge: StartBridge, clock: FakeClock) -> None:
    bridge = await start_bridge()
    now_s = clock.now_ms() // 1000
    cases: dict[str, tuple[dict[str, str], int]] = {
        "valid": (
            {"Authorization": f"Bearer {mint({'iat': now_s, 'exp': now_s + 600})}"},
            200,
        ),
        "expired-29-min-ago-within-leeway": (
            {"Authorization": f"Bearer {mint({'iat': now_s - 2340, 'exp': now_s - 29 * 60})}"},
            200,
        ),
        "expired-31-min-ago": (
            {"Authorization": f"Bearer {mint({'iat': now_s - 2460, 'exp': now_s - 31 * 60})}"},
            401,
        ),
        "wrong-key": (
            {"Authorization": f"Bearer {mint({'iat': now_s, 'exp': now_s + 600}, 'k' * 32)}"},
            401,
        ),
        "alg-none": (
            {"Authorization": f"Bearer {unsigned_token({'iat': now_s, 'exp': now_s + 600})}"},
            401,
        ),
        "issued-in-the-future": (
            {"Authorization": f"Bearer {mint({'iat': now_s + 3600, 'exp': now_s + 4200})}"},
            401,
        ),
        "missing-exp": ({"Authorization": f"Bearer {mint({'iat': now_s})}"}, 401),
        "wrong-static-secret-beside-a-valid-jwt": (
            {
                "X-Webhook-Secret": "wrong-secret-0000",
                "Authorization": f"Bearer {mint({'iat': now_s, 'exp': now_s + 600})}",
            },
            401,
        ),
    }
    for n, (name, (headers, status)) in enumerate(cases.items()):
        document = wa_message("inst-demo", "2782000001", f"JWT{n}")
        response = await bridge.post_evolution(document, headers)
        assert response.status == status, name
        stored = await bridge.count("inbound_event", f"external_id = 'inst-demo:JWT{n}'")
        assert stored == (1 if status == 200 else 0), name
    assert await bridge.count("inbound_event") == 2


# -- Chatwoot ---------------------------------------------------------------------------------


def test_signature_function_reproduces_the_chatwoot_test_vector() -> None:
    headers = VECTOR["headers"]
    signature = chatwoot_signature(
        VECTOR["secret"], headers["X-Chatwoot-Timestamp"], VECTOR["raw_body"].encode()
    )
    assert signature == headers["X-Chatwoot-Signature"]


def vector_headers(**changes: str) -> dict[str, str]:
    headers = {k: v for k, v in VECTOR["headers"].items() if k != "Accept"}
    headers.update(changes)
    return headers


async def start_chatwoot_bridge(
    start_bridge: StartBridge, clock: FakeClock, **overrides: Any
) -> Bridge:
    clock.ms = VECTOR_TS * 1000
    secrets = f"cw-inbox-secret-aaaa,{VECTOR['secret']}"
    return await start_bridge(chatwoot_webhook_secrets=secrets, **overrides)


async def test_chatwoot_signature_window_and_tampering(
    start_bridge: StartBridge, clock: FakeClock
) -> None:
    bridge = await start_chatwoot_bridge(start_bridge, clock)
    tampered = VECTOR["raw_body"].replace("checking your order", "cancelling your order")
    refused: dict[str, tuple[int, str, dict[str, str]]] = {
        "stale-301-s": (301, VECTOR["raw_body"], {}),
        "future-301-s": (-301, VECTOR["raw_body"], {}),
        "bad-signature": (0, VECTOR["raw_body"], {"X-Chatwoot-Signature": "sha256=" + "0" * 64}),
        "wrong-scheme": (0, VECTOR["raw_body"], {"X-Chatwoot-Signature": "md5=abc"}),
        "timestamp-not-a-number": (0, VECTOR["raw_body"], {"X-Chatwoot-Timestamp": "soon"}),
        "timestamp-not-signed": (
            1,
            VECTOR["raw_body"],
            {"X-Chatwoot-Timestamp": str(VECTOR_TS + 1)},
        ),
        "tampered-body": (0, tampered, {}),
    }
    for name, (age_s, body, changes) in refused.items():
        clock.ms = (VECTOR_TS + age_s) * 1000
        response = await bridge.client.post(
            "/webhooks/chatwoot", data=body, headers=vector_headers(**changes)
        )
        assert response.status == 401, name
    assert await bridge.count("inbound_event") == 0

    for age_s in (299, -299, 0):
        clock.ms = (VECTOR_TS + age_s) * 1000
        response = await bridge.client.post(
            "/webhooks/chatwoot", data=VECTOR["raw_body"], headers=vector_headers()
        )
        assert response.status == 200, age_s
    assert await bridge.count("inbound_event", "external_id = 'message_created:9010'") == 1


async def test_chatwoot_token_fallback_refused_when_not_configured(
    start_bridge: StartBridge, clock: FakeClock
) -> None:
    bridge = await start_chatwoot_bridge(start_bridge, clock)
    for query in ("", "?token=", "?token=anything"):
        response = await bridge.client.post(
            f"/webhooks/chatwoot{query}", data=VECTOR["raw_body"], headers=JSON
        )
        assert response.status == 401, query
    assert await bridge.count("inbound_event") == 0


async def test_chatwoot_token_fallback_accepted_when_configured(
    start_bridge: StartBridge, clock: FakeClock
) -> None:
    bridge = await start_chatwoot_bridge(
        start_bridge, clock, chatwoot_webhook_token="cw-query-token-1234"
    )
    for query in ("?token=cw-query-token-9999", "?token=", "?token=cw-query-token-12345", ""):
        response = await bridge.client.post(
            f"/webhooks/chatwoot{query}", data=VECTOR["raw_body"], headers=JSON
        )
        assert response.status == 401, query
    assert await bridge.count("inbound_event") == 0
    right = await bridge.client.post(
        "/webhooks/chatwoot?token=cw-query-token-1234", data=VECTOR["raw_body"], headers=JSON
    )
    assert right.status == 200
    assert await bridge.count("inbound_event") == 1


# -- Typebot ----------------------------------------------------------------------------------


async def test_typebot_refuses_missing_or_wrong_secret(start_bridge: StartBridge) -> None:
    bridge = await start_bridge()
    body = {"bridge_contact": "1.nonce", "department": "DTV"}
    refused = {
        "missing": {},
        "wrong": {"X-Webhook-Secret": "wrong-secret-0000"},
        "evolution-secret": {"X-Webhook-Secret": EVOLUTION_SECRET},
        "bearer-is-not-the-header": {"Authorization": f"Bearer {TYPEBOT_SECRET}"},
    }
    for name, headers in refused.items():
        response = await bridge.client.post("/webhooks/typebot", json=body, headers=headers)
        assert response.status == 401, name
    assert await bridge.count("inbound_event") == 0
