"""Failure classification shared by all clients: one attempt, retryable or permanent, no secrets."""

from __future__ import annotations

import httpx
import pytest
import respx

from bridge.clients.base import UpstreamHttp, classify_failure, parse_retry_after
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError

SECRET = "s3cr3t-token-value"
NOW_S = 1_784_715_666.0  # Wed, 22 Jul 2026 10:21:06 GMT


class FixedClock:
    def now_ms(self) -> int:
        return int(NOW_S * 1000)


def make_http(router: respx.Router) -> UpstreamHttp:
    return UpstreamHttp(
        system="demo",
        base_url="https://up.test",
        headers={"api_access_token": SECRET},
        secrets=(SECRET,),
        transport=httpx.MockTransport(router.handler),
        clock=FixedClock(),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("Wed, 22 Jul 2026 10:21:36 GMT", 30.0),
        ("Wed, 22 Jul 2026 10:00:00 GMT", 0.0),  # a date in the past means "now"
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now_s=NOW_S) == expected


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    response = httpx.Response(status, text="busy", request=httpx.Request("GET", "https://x.test/"))
    error = classify_failure(response, system="demo", operation="GET /")
    assert isinstance(error, RetryableDeliveryError)
    assert error.status == status


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_permanent_statuses(status: int) -> None:
    response = httpx.Response(status, text="no", request=httpx.Request("GET", "https://x.test/"))
    error = classify_failure(response, system="demo", operation="GET /")
    assert isinstance(error, PermanentDeliveryError)
    assert f"HTTP {status}" in str(error)


async def test_connect_error_is_retryable_and_secret_free() -> None:
    router = respx.Router()
    router.get("https://up.test/x").mock(side_effect=httpx.ConnectError(f"refused {SECRET}"))
    http = make_http(router)
    with pytest.raises(RetryableDeliveryError) as caught:
        await http.request("GET", "/x")
    assert SECRET not in str(caught.value)
    assert "ConnectError" in str(caught.value)
    assert router.calls.call_count == 1  # exactly one attempt
    await http.aclose()


async def test_timeout_is_retryable() -> None:
    router = respx.Router()
    router.post("https://up.test/slow").mock(side_effect=httpx.ReadTimeout("timed out"))
    http = make_http(router)
    with pytest.raises(RetryableDeliveryError):
        await http.request("POST", "/slow", json={})
    assert router.calls.call_count == 1
    await http.aclose()


async def test_429_carries_retry_after_and_503_without_it() -> None:
    router = respx.Router()
    router.get("https://up.test/a").respond(429, text="Retry later", headers={"Retry-After": "7"})
    router.get("https://up.test/b").respond(503, json={"error": "down"})
    http = make_http(router)
    with pytest.raises(RetryableDeliveryError) as limited:
        await http.request("GET", "/a")
    assert (limited.value.status, limited.value.retry_after_s) == (429, 7.0)
    with pytest.raises(RetryableDeliveryError) as down:
        await http.request("GET", "/b")
    assert (down.value.status, down.value.retry_after_s) == (503, None)
    await http.aclose()


async def test_error_body_excerpt_is_short_and_scrubbed() -> None:
    router = respx.Router()
    body = f'{{"message": "bad token {SECRET}", "pad": "{"x" * 900}"}}'
    router.get("https://up.test/c").respond(400, text=body)
    http = make_http(router)
    with pytest.raises(PermanentDeliveryError) as caught:
        await http.request("GET", "/c")
    text = str(caught.value)
    assert SECRET not in text
    assert "HTTP 400" in text
    assert "bad token ***" in text
    assert len(text) < 300
    await http.aclose()


async def test_secret_only_in_its_header() -> None:
    router = respx.Router()
    route = router.get("https://up.test/d").respond(200, json={})
    http = make_http(router)
    await http.request("GET", "/d", params={"q": "x"})
    request = route.calls.last.request
    assert request.headers["api_access_token"] == SECRET
    assert SECRET not in str(request.url)
    await http.aclose()


async def test_body_that_does_not_fit_is_permanent() -> None:
    from pydantic import TypeAdapter

    router = respx.Router()
    router.get("https://up.test/e").respond(200, text="<html>proxy</html>")
    router.get("https://up.test/f").respond(200, json={"id": "nope"})
    http = make_http(router)
    with pytest.raises(PermanentDeliveryError, match="not JSON"):
        http.json_body(await http.request("GET", "/e"))
    with pytest.raises(PermanentDeliveryError, match="does not fit"):
        http.parse(await http.request("GET", "/f"), TypeAdapter(dict[str, int]))
    await http.aclose()


def test_unsupported_protocol_is_permanent() -> None:
    error = classify_failure(httpx.UnsupportedProtocol("ftp"), system="demo", operation="GET /")
    assert isinstance(error, PermanentDeliveryError)
