"""The production path (no transport given): aiohttp against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import socket
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import BodyPartReader, web
from aiohttp.test_utils import TestServer

from bridge import __version__
from bridge.clients.base import UpstreamHttp
from bridge.errors import PermanentDeliveryError, RetryableDeliveryError

SECRET = "s3cr3t-evolution-key"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """What the server received, one entry per request that reached it."""

    requests: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def release() -> asyncio.Event:
    """Lets the slow handler finish, so the server shuts down at once."""
    return asyncio.Event()


def make_app(seen: Seen, release: asyncio.Event) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.requests.append(request)
        if not request.content_type.startswith("multipart/"):
            seen.bodies.append(await request.read())
        return await handler(request)

    async def echo(request: web.Request) -> web.Response:
        body = json.loads(seen.bodies[-1]) if seen.bodies[-1] else None
        return web.json_response({"query": dict(request.query), "body": body}, status=201)

    async def form(request: web.Request) -> web.Response:
        return web.json_response(dict(await request.post()))

    async def upload(request: web.Request) -> web.Response:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader)
            seen.parts.append(
                {
                    "name": part.name,
                    "filename": part.filename,
                    "type": part.headers.get("Content-Type"),
                    "data": await part.read(decode=False),
                }
            )
        return web.json_response({"ok": True})

    async def busy(request: web.Request) -> web.Response:
        # Lower-case on the wire: the lookup must not depend on the header's spelling.
        return web.Response(status=503, text="busy", headers={"retry-after": "7"})

    async def invalid(request: web.Request) -> web.Response:
        return web.json_response(
            {"message": f"token {request.headers['apikey']} refused"}, status=422
        )

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def slow(request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(release.wait(), 10)
        return web.json_response({})

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy</html>", content_type="text/html")

    app = web.Application(middlewares=[record])
    app.router.add_route("*", "/echo", echo)
    app.router.add_post("/form", form)
    app.router.add_post("/upload", upload)
    app.router.add_get("/busy", busy)
    app.router.add_post("/invalid", invalid)
    app.router.add_get("/moved", moved)
    app.router.add_get("/elsewhere", echo)
    app.router.add_get("/slow", slow)
    app.router.add_get("/html", html)
    return app


@pytest.fixture
async def server(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    seen: Seen,
    release: asyncio.Event,
) -> AsyncIterator[str]:
    test_server = await aiohttp_server(make_app(seen, release))
    yield str(test_server.make_url("")).rstrip("/")
    release.set()


@pytest.fixture
async def open_http() -> AsyncIterator[Callable[..., UpstreamHttp]]:
    opened: list[UpstreamHttp] = []

    def _open(base_url: str, **kwargs: Any) -> UpstreamHttp:
        http = UpstreamHttp(
            system="evolution",
            base_url=base_url,
            headers={"apikey": SECRET},
            secrets=(SECRET,),
            **kwargs,
        )
        opened.append(http)
        return http

    yield _open
    for http in opened:
        await http.aclose()


async def test_json_body_headers_and_query_arrive_as_sent(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server)
    body = {"number": "27820000000", "text": "héllo ✓", "n": [1, None, True]}
    response = await http.request("POST", "/echo", json=body, params={"page": 2, "q": "a b&c"})
    assert response.status_code == 201
    assert response.is_success
    assert response.json() == {"query": {"page": "2", "q": "a b&c"}, "body": body}
    [request] = seen.requests
    assert request.headers["apikey"] == SECRET
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == f"omni-bridge/{__version__}"
    assert SECRET not in str(request.url)
    assert (response.method, response.path) == ("POST", "/echo")
    assert "Cookie" not in request.headers


async def test_a_lone_surrogate_in_a_body_is_sent_escaped(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    """A customer's half emoji arrives as an escaped lone surrogate: relaying it must not fail
    (it is not encodable as UTF-8), so it goes out escaped, the rest of the body intact."""
    http = open_http(server)
    body = {"text": "\ud83d broken, é kept"}
    response = await http.request("POST", "/echo", json=body)
    assert response.json()["body"] == body
    assert seen.requests[0].headers["Content-Type"] == "application/json"


async def test_form_fields_without_files_are_urlencoded(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server)
    response = await http.request("POST", "/form", data={"a": "1", "b": "x y&z"})
    assert response.json() == {"a": "1", "b": "x y&z"}
    assert seen.requests[0].content_type == "application/x-www-form-urlencoded"


async def test_multipart_upload_arrives_intact(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server)
    blob = bytes(range(256)) * 40 + b"\r\n--not-a-boundary\r\n"
    files = [
        ("attachments[]", ("voice.ogg", blob, "audio/ogg")),
        ("attachments[]", ("note.txt", "ünï".encode(), "text/plain")),
    ]
    form = {"content": "caption ✓", "message_type": "incoming", "private": "false"}
    response = await http.request("POST", "/upload", data=form, files=files)
    assert response.json() == {"ok": True}
    assert seen.requests[0].content_type == "multipart/form-data"
    fields = {p["name"]: p["data"].decode() for p in seen.parts if p["filename"] is None}
    assert fields == form
    uploads = [
        (p["name"], p["filename"], p["type"], p["data"]) for p in seen.parts if p["filename"]
    ]
    assert uploads == [
        ("attachments[]", "voice.ogg", "audio/ogg", blob),
        ("attachments[]", "note.txt", "text/plain", "ünï".encode()),
    ]


async def test_503_with_retry_after_is_retryable(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server)
    with pytest.raises(RetryableDeliveryError) as caught:
        await http.request("GET", "/busy")
    assert (caught.value.status, caught.value.retry_after_s) == (503, 7.0)
    assert caught.value.never_sent is False
    assert seen.paths() == ["/busy"]  # one call, one request


async def test_422_is_permanent_with_a_scrubbed_excerpt(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server)
    with pytest.raises(PermanentDeliveryError) as caught:
        await http.request("POST", "/invalid", json={})
    text = str(caught.value)
    assert caught.value.status == 422
    assert SECRET not in text
    assert "HTTP 422" in text
    assert "token *** refused" in text
    assert len(seen.requests) == 1


async def test_redirect_is_not_followed(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server)
    with pytest.raises(PermanentDeliveryError, match="HTTP 302"):
        await http.request("GET", "/moved")
    response = await http.request("GET", "/moved", raise_for_status=False)
    assert response.status_code == 302
    assert response.headers.get("location") == "/elsewhere"
    assert seen.paths() == ["/moved", "/moved"]


async def test_non_json_answer_names_where_it_came_from(
    server: str, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server)
    response = await http.request("GET", "/html")
    assert response.text == "<html>proxy</html>"
    with pytest.raises(PermanentDeliveryError, match=r"evolution GET /html: HTTP 200: body is not"):
        http.json_body(response)


async def test_slower_than_the_timeout_is_retryable_and_may_have_been_sent(
    server: str, seen: Seen, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(server, timeout_s=0.3)
    with pytest.raises(RetryableDeliveryError) as caught:
        await http.request("GET", "/slow")
    assert caught.value.never_sent is False
    assert caught.value.status is None
    assert "TimeoutError" in str(caught.value)
    assert seen.paths() == ["/slow"]


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A port bound but not listening: connecting is refused, and nobody else can take it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


async def test_connection_refused_is_retryable_and_never_sent(
    refused_url: str, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(refused_url)
    with pytest.raises(RetryableDeliveryError) as caught:
        await http.request("POST", "/message/sendText/x", json={"text": SECRET})
    assert caught.value.never_sent is True
    assert "ClientConnectorError" in str(caught.value)
    assert SECRET not in str(caught.value)


@dataclass
class Hangup:
    """A raw TCP server that reads a request head and closes without answering."""

    url: str
    heads: list[bytes]


@pytest.fixture
async def hangup() -> AsyncIterator[Hangup]:
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield Hangup(f"http://127.0.0.1:{port}", heads)
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
async def test_dropped_connection_is_retryable_and_not_resent(
    hangup: Hangup, method: str, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(hangup.url)
    with pytest.raises(RetryableDeliveryError) as caught:
        await http.request(method, "/x", json={"a": 1})
    assert caught.value.never_sent is False
    assert "ServerDisconnectedError" in str(caught.value)
    # aiohttp would resend idempotent methods once on its own; the outbox owns retries.
    assert len(hangup.heads) == 1
    assert hangup.heads[0].startswith(f"{method} /x ".encode())


@pytest.mark.parametrize(
    ("base_url", "error"),
    [("ftp://127.0.0.1:21", "NonHttpUrlClientError"), ("not a url", "InvalidUrlClientError")],
)
async def test_malformed_base_url_is_permanent(
    base_url: str, error: str, open_http: Callable[..., UpstreamHttp]
) -> None:
    http = open_http(base_url)
    with pytest.raises(PermanentDeliveryError, match=error):
        await http.request("GET", "/x")


@dataclass
class KeepAlive:
    """A raw HTTP/1.1 server that answers `{}` and keeps the connection open until the peer
    closes it; `closed` is set when the peer did."""

    url: str
    closed: asyncio.Event


@pytest.fixture
async def keep_alive() -> AsyncIterator[KeepAlive]:
    closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        writer.write(b"Content-Length: 2\r\n\r\n{}")
        await writer.drain()
        if not await reader.read(1):
            closed.set()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield KeepAlive(f"http://127.0.0.1:{port}", closed)
    server.close()
    await server.wait_closed()


async def test_aclose_closes_the_pooled_connection_without_leaks(keep_alive: KeepAlive) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        http = UpstreamHttp(system="evolution", base_url=keep_alive.url, headers={}, secrets=())
        assert (await http.request("GET", "/")).json() == {}
        assert not keep_alive.closed.is_set()  # pooled for the next call
        await http.aclose()
        await asyncio.wait_for(keep_alive.closed.wait(), 2)
        with pytest.raises(RuntimeError, match="closed"):
            await http.request("GET", "/")
        del http
        gc.collect()
    assert [str(w.message) for w in caught if "nclosed" in str(w.message)] == []


async def test_aclose_before_any_call_is_fine() -> None:
    http = UpstreamHttp(system="evolution", base_url="http://127.0.0.1:9", headers={}, secrets=())
    await http.aclose()
