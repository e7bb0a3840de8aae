"""Invite mail over SMTP against a loopback aiosmtpd server."""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from bridge.errors import PermanentDeliveryError, RetryableDeliveryError
from provisioning.mailer import INVITE_SUBJECT, InviteMailer, SmtpConfig, build_invite_message

LINK = "https://hub.example.test/onboarding/tok_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SMTP_PASSWORD = "smtp-relay-password-xyz"
EXPIRES_AT_MS = 1_700_259_200_000  # 2023-11-17 22:13 UTC


class Recorder:
    """aiosmtpd handler keeping every accepted message; refuses some recipients."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def plain_server(recorder: Recorder) -> Iterator[Controller]:
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def send_kwargs(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "to_address": "kay.personal@example.org",
        "first_name": "Kay",
        "username": "kay.ntulo",
        "work_email": "kay.ntulo@mmallelectronics.co.za",
        "link": LINK,
        "expires_at_ms": EXPIRES_AT_MS,
    }
    base.update(overrides)
    return base


def parsed(recorder: Recorder) -> Message:
    assert len(recorder.envelopes) == 1
    return email.message_from_bytes(recorder.envelopes[0].content)


def bodies(message: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            out[part.get_content_subtype()] = payload.decode(part.get_content_charset() or "utf-8")
    return out


async def test_invite_arrives_with_link_and_no_password(
    plain_server: Controller, recorder: Recorder
) -> None:
    config = SmtpConfig(
        host="127.0.0.1",
        port=plain_server.port,
        from_address="hub@mmallelectronics.co.za",
        tls="none",
    )
    await InviteMailer(config).send_invite(**send_kwargs())
    envelope = recorder.envelopes[0]
    assert envelope.rcpt_tos == ["kay.personal@example.org"]
    assert envelope.mail_from == "hub@mmallelectronics.co.za"
    message = parsed(recorder)
    assert message["Subject"] == INVITE_SUBJECT
    assert message["To"] == "kay.personal@example.org"
    parts = bodies(message)
    assert set(parts) == {"plain", "html"}
    assert LINK in parts["plain"]
    assert f'href="{LINK}"' in parts["html"]
    assert "2023-11-17 22:13 UTC" in parts["plain"]
    raw = envelope.content.decode()
    assert SMTP_PASSWORD not in raw
    assert "password:" not in raw.lower()


# Loopback test server only: AUTH without TLS is what we want to exercise here.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_login_credentials_used(recorder: Recorder) -> None:
    seen: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        seen.append((auth_data.login, auth_data.password))
        ok = auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        config = SmtpConfig(
            host="127.0.0.1",
            port=controller.port,
            from_address="hub@mmallelectronics.co.za",
            tls="none",
            username="relay",
            password=SecretStr(SMTP_PASSWORD),
        )
        assert SMTP_PASSWORD not in repr(config)
        await InviteMailer(config).send_invite(**send_kwargs())
        bad = SmtpConfig(**{**config.__dict__, "password": "wrong"})
        with pytest.raises(PermanentDeliveryError) as info:
            await InviteMailer(bad).send_invite(**send_kwargs())
        assert info.value.status == 535
    finally:
        controller.stop()
    assert seen[0] == (b"relay", SMTP_PASSWORD.encode())
    assert len(recorder.envelopes) == 1
    assert SMTP_PASSWORD.encode() not in recorder.envelopes[0].content


@pytest.mark.parametrize(
    ("recipient", "error"),
    [("gone@example.org", PermanentDeliveryError), ("busy@example.org", RetryableDeliveryError)],
)
async def test_refused_recipient_classified(
    plain_server: Controller, recipient: str, error: type[Exception]
) -> None:
    config = SmtpConfig("127.0.0.1", plain_server.port, "hub@mmallelectronics.co.za", "none")
    with pytest.raises(error) as info:
        await InviteMailer(config).send_invite(**send_kwargs(to_address=recipient))
    assert LINK not in str(info.value)


async def test_unreachable_server_is_retryable() -> None:
    config = SmtpConfig("127.0.0.1", free_port(), "hub@mmallelectronics.co.za", "none", timeout_s=2)
    with pytest.raises(RetryableDeliveryError):
        await InviteMailer(config).send_invite(**send_kwargs())


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_modes(cert_files: tuple[Path, Path], recorder: Recorder, mode: str) -> None:
    cert, key = cert_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    tls_kwargs: dict[str, Any] = (
        {"tls_context": server_ctx, "require_starttls": True}
        if mode == "starttls"
        else {"server_hostname": "127.0.0.1", "ssl_context": server_ctx}
    )
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), **tls_kwargs)
    controller.start()
    try:
        config = SmtpConfig(
            host="127.0.0.1",
            port=controller.port,
            from_address="hub@mmallelectronics.co.za",
            tls=mode,  # type: ignore[arg-type]
            tls_context=ssl.create_default_context(cafile=str(cert)),
        )
        await InviteMailer(config).send_invite(**send_kwargs())
    finally:
        controller.stop()
    assert LINK in bodies(parsed(recorder))["plain"]


def test_connection_kwargs_map_tls_modes() -> None:
    base = SmtpConfig("mail.example.test", 587, "hub@example.test", "none", "", None)
    assert base.connection_kwargs()["start_tls"] is False
    assert base.connection_kwargs()["use_tls"] is False
    assert base.connection_kwargs()["username"] is None
    assert base.connection_kwargs()["password"] is None
    implicit = SmtpConfig("mail.example.test", 465, "hub@example.test", "tls", "u", "p")
    assert implicit.connection_kwargs()["use_tls"] is True
    assert implicit.connection_kwargs()["start_tls"] is False


def test_html_escapes_names() -> None:
    message = build_invite_message(
        from_address="hub@example.test",
        to_address="x@example.org",
        first_name="<script>alert(1)</script>",
        username="x.y",
        work_email="x.y@example.test",
        link=LINK,
        expires_at_ms=EXPIRES_AT_MS,
    )
    html_part = bodies(message)["html"]
    assert "<script>" not in html_part
    assert "&lt;script&gt;" in html_part
