"""config/nginx: the snippets parse and keep the directives that make them safe."""

from __future__ import annotations

import re

import pytest

from tests.config.files import read_text
from tests.config.nginx_parse import Directive, parse

FILES = ("nginx/bridge.conf", "nginx/chatwoot-embed.conf", "nginx/mailcow-admin.conf")


def _servers(relative: str) -> list[Directive]:
    root = parse(read_text(relative))
    return [d for d in root.walk() if d.name == "server" and d.block is not None]


def _is_tls(server: Directive) -> bool:
    return any("ssl" in listen.args for listen in server.find("listen"))


def _tls_server(relative: str) -> Directive:
    tls = [s for s in _servers(relative) if _is_tls(s)]
    assert len(tls) == 1, relative
    return tls[0]


def _location(server: Directive, *args: str) -> Directive:
    found = [d for d in server.find("location") if tuple(d.args) == args]
    assert len(found) == 1, f"location {' '.join(args)}"
    return found[0]


def _args(block: Directive, name: str) -> list[list[str]]:
    return [d.args for d in block.find(name)]


@pytest.mark.parametrize("relative", FILES)
def test_parses_and_redirects_plain_http(relative: str) -> None:
    plain = [s for s in _servers(relative) if not _is_tls(s)]
    assert plain, "an HTTP server block redirects to HTTPS"
    assert all(_args(s, "return") == [["301", "https://$host$request_uri"]] for s in plain)
    tls = _tls_server(relative)
    assert _args(tls, "ssl_certificate")
    assert _args(tls, "ssl_certificate_key")


def test_parser_rejects_unbalanced_braces() -> None:
    with pytest.raises(ValueError, match="unterminated"):
        parse("server { listen 80;")
    with pytest.raises(ValueError, match="unexpected"):
        parse("listen 80; }")


def test_chatwoot_embed_strips_xfo_and_allows_only_the_portal() -> None:
    text = read_text("nginx/chatwoot-embed.conf")
    assert re.search(r"^\s*proxy_hide_header\s+X-Frame-Options;", text, re.M)
    server = _tls_server("nginx/chatwoot-embed.conf")
    assert ["X-Frame-Options"] in _args(server, "proxy_hide_header")
    csp = [a for a in _args(server, "add_header") if a[0] == "Content-Security-Policy"]
    assert len(csp) == 1
    assert re.fullmatch(r"frame-ancestors 'self' https://hub\.example\.com", csp[0][1])
    assert csp[0][2:] == ["always"]
    # A location with its own add_header would drop the inherited frame-ancestors header.
    assert all(not loc.find("add_header") for loc in server.find("location"))
    headers = {a[0]: a[1] for a in _args(server, "proxy_set_header")}
    assert headers["Upgrade"] == "$http_upgrade"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert _location(server, "/cable").find("proxy_pass")
    assert _args(server, "underscores_in_headers") == [["on"]]


def test_mailcow_admin_is_allow_listed_and_proxied_to_loopback_8080() -> None:
    text = read_text("nginx/mailcow-admin.conf")
    assert re.search(r"^\s*deny\s+all;", text, re.M)
    assert "HTTP_BIND=127.0.0.1" in text
    assert "HTTP_PORT=8080" in text
    server = _tls_server("nginx/mailcow-admin.conf")
    admin = _location(server, "~", "^/(admin|domainadmin|api)(/|$)")
    rules = [d.name for d in admin.block or [] if d.name in ("allow", "deny")]
    assert rules[-1] == "deny"
    assert "allow" in rules
    assert _args(admin, "deny") == [["all"]]
    passes = {tuple(d.args) for d in server.walk() if d.name == "proxy_pass"}
    assert passes == {("http://127.0.0.1:8080",)}
    assert _location(server, "/").find("deny") == []  # webmail stays public


def test_bridge_exposes_public_paths_and_guards_api_and_metrics() -> None:
    text = read_text("nginx/bridge.conf")
    assert re.search(r"^\s*client_max_body_size\s+2m;", text, re.M)
    server = _tls_server("nginx/bridge.conf")
    assert _args(server, "client_max_body_size") == [["2m"]]
    for public in ("/webhooks/", "/onboarding/", "/auth/", "/sso/", "/hub/"):
        loc = _location(server, public)
        assert loc.find("proxy_pass"), public
        assert not loc.find("deny"), public
    api = _location(server, "/api/")
    assert _args(api, "deny") == [["all"]]
    assert _args(api, "allow")
    assert api.find("proxy_pass")
    metrics = _location(server, "=", "/metrics")
    assert _args(metrics, "deny") == [["all"]]
    assert not metrics.find("proxy_pass")
    assert _args(_location(server, "/"), "return") == [["404"]]
    assert _args(server, "real_ip_header") == [["X-Forwarded-For"]]
    headers = {a[0]: a[1] for a in _args(server, "proxy_set_header")}
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Real-IP"] == "$remote_addr"


def test_readme_explains_same_site_and_firewall() -> None:
    readme = read_text("nginx/README.md")
    for needle in ("SAMEORIGIN", "same-site", "third-party cookie", "8080", "frame-ancestors"):
        assert needle in readme, needle
