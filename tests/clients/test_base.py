"""Failure classification shared by all clients: one attempt, retryable or permanent, no secrets."""

from __future__ import annotations

import httpx
import pytest
import respx
from multidict import CIMultiDict, CIMultiDictProxy

from bridge.clients.base import UpstreamHttp, classify_failure, parse_retry_after
from bridge.clients.http import TransportFailure, UpstreamResponse
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError

SECRET = "s3cr3t-token-value"
NOW_S = 1_784_715_666.0  # Wed, 22 Jul 2026 10:21:06 GMT


class FixedClock:
    def now_ms(self) -> int:
        return int(NOW_S * 1000)


def answer(status: int, text: str, headers: dict[str, str] | None = None) -> UpstreamResponse:
    return UpstreamResponse(
        status_code=status,
        headers=CIMultiDictProxy(CIMultiDict(headers or {})),
        content=text.encode(),
        method="GET",
        path="/",
    )


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
    error = classify_failure(answer(status, "busy"), system="demo", operation="GET /")
    assert isinstance(error, RetryableDeliveryError)
    assert error.status == status


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_permanent_statuses(status: int) -> None:
    error = classify_failure(answer(status, "no"), system="demo", operation="GET /")
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
    assert caught.value.never_sent is True
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


def test_retry_after_header_name_is_case_insensitive() -> None:
    error = classify_failure(
        answer(503, "", {"retry-after": "12"}), system="demo", operation="GET /"
    )
    assert isinstance(error, RetryableDeliveryError)
    assert error.retry_after_s == 12.0


@pytest.mark.parametrize(
    ("failure", "kind", "never_sent"),
    [
        (TransportFailure("ConnectError: refused", never_sent=True), RetryableDeliveryError, True),
        (TransportFailure("ReadTimeout"), RetryableDeliveryError, False),
        (TransportFailure("InvalidURL: x", permanent=True), PermanentDeliveryError, None),
    ],
)
def test_transport_failures(
    failure: TransportFailure, kind: type[Exception], never_sent: bool | None
) -> None:
    error = classify_failure(failure, system="demo", operation="GET /")
    assert type(error) is kind
    assert str(error) == f"demo GET /: {failure.detail}"
    if never_sent is not None:
        assert isinstance(error, RetryableDeliveryError)
        assert error.never_sent is never_sent


def test_transport_failure_detail_is_scrubbed() -> None:
    failure = TransportFailure(f"ClientOSError: reset after {SECRET}")
    error = classify_failure(failure, system="demo", operation="GET /", secrets=(SECRET,))
    assert SECRET not in str(error)
    assert "ClientOSError" in str(error)


@pytest.mark.parametrize(
    ("side_effect", "kind", "never_sent"),
    [
        (httpx.ConnectTimeout("slow connect"), RetryableDeliveryError, True),
        (httpx.PoolTimeout("pool full"), RetryableDeliveryError, True),
        (httpx.RemoteProtocolError("dropped"), RetryableDeliveryError, False),
        (httpx.UnsupportedProtocol("ftp"), PermanentDeliveryError, None),
        (httpx.TooManyRedirects("loop"), PermanentDeliveryError, None),
    ],
)
async def test_httpx_seam_maps_errors(
    side_effect: Exception, kind: type[Exception], never_sent: bool | None
) -> None:
    router = respx.Router()
    router.get("https://up.test/g").mock(side_effect=side_effect)
    http = make_http(router)
    with pytest.raises(kind) as caught:
        await http.request("GET", "/g")
    assert type(side_effect).__name__ in str(caught.value)
    if never_sent is not None:
        assert isinstance(caught.value, RetryableDeliveryError)
        assert caught.value.never_sent is never_sent
    await http.aclose()


async def test_httpx_seam_response_fields() -> None:
    router = respx.Router()
    router.get("https://up.test/h%2Fi").respond(
        201, content=b'{"ok": true}', headers={"X-Thing": "1"}
    )
    http = make_http(router)
    response = await http.request("GET", "/h%2Fi")
    assert (response.status_code, response.is_success, response.json()) == (201, True, {"ok": True})
    assert response.headers.get("x-thing") == "1"
    assert (response.method, response.path) == ("GET", "/h/i")
    await http.aclose()
