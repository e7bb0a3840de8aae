"""Invite email: sends the one-time set-password link to a new employee's personal address."""

from __future__ import annotations

import html
import logging
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal

import aiosmtplib
from pydantic import SecretStr

from bridge.errors import PermanentDeliveryError, RetryableDeliveryError

log = logging.getLogger(__name__)

SmtpTls = Literal["none", "starttls", "tls"]
INVITE_SUBJECT = "Set your MM All Electronics staff password"
COMPANY = "MM All Electronics"


@dataclass(frozen=True)
class SmtpConfig:
    """Outgoing mail settings (`SMTP_*` in DESIGN §4)."""

    host: str
    port: int
    from_address: str
    tls: SmtpTls = "starttls"
    username: str | None = None
    password: str | SecretStr | None = field(default=None, repr=False)
    timeout_s: float = 15.0
    # Lets tests (or private CAs) supply trust roots; None = system defaults.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)

    def connection_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `aiosmtplib.send` (TLS mode mapped explicitly, never implicit)."""
        password = self.password
        if isinstance(password, SecretStr):
            password = password.get_secret_value()
        return {
            "hostname": self.host,
            "port": self.port,
            "username": self.username or None,
            "password": password or None,
            "use_tls": self.tls == "tls",
            # False for "none": aiosmtplib would otherwise upgrade opportunistically.
            "start_tls": self.tls == "starttls",
            "timeout": self.timeout_s,
            "tls_context": self.tls_context,
        }


def _format_expiry(expires_at_ms: int) -> str:
    return datetime.fromtimestamp(expires_at_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def build_invite_message(
    *,
    from_address: str,
    to_address: str,
    first_name: str,
    username: str,
    work_email: str,
    link: str,
    expires_at_ms: int,
) -> EmailMessage:
    """The invite as plain text plus a simple HTML part; it never contains a password."""
    expiry = _format_expiry(expires_at_ms)
    text = (
        f"Hello {first_name},\n\n"
        f"A staff account has been created for you at {COMPANY}.\n"
        f"Username: {username}\n"
        f"Work email: {work_email}\n\n"
        f"Choose your password here:\n{link}\n\n"
        f"The link works once and expires on {expiry}.\n"
        "If you did not expect this email, you can ignore it.\n"
    )
    e = html.escape
    body_html = (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<p>Hello {e(first_name)},</p>"
        f"<p>A staff account has been created for you at {e(COMPANY)}.<br>"
        f"Username: <b>{e(username)}</b><br>Work email: {e(work_email)}</p>"
        f'<p><a href="{e(link, quote=True)}">Choose your password</a></p>'
        f"<p>The link works once and expires on {e(expiry)}.</p>"
        "<p>If you did not expect this email, you can ignore it.</p>"
        "</body></html>"
    )
    msg = EmailMessage()
    msg["Subject"] = INVITE_SUBJECT
    msg["From"] = from_address
    msg["To"] = to_address
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2] or None)
    # Tells auto-responders not to answer an automated message.
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(body_html, subtype="html")
    return msg


class InviteMailer:
    """Sends invites over SMTP; one attempt per call (the caller's retry logic decides)."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send_invite(
        self,
        *,
        to_address: str,
        first_name: str,
        username: str,
        work_email: str,
        link: str,
        expires_at_ms: int,
    ) -> None:
        """Raise RetryableDeliveryError (transport, 4xx) or PermanentDeliveryError (5xx)."""
        message = build_invite_message(
            from_address=self._config.from_address,
            to_address=to_address,
            first_name=first_name,
            username=username,
            work_email=work_email,
            link=link,
            expires_at_ms=expires_at_ms,
        )
        try:
            await aiosmtplib.send(message, **self._config.connection_kwargs())
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            code = first.code if first else 550
            raise _classify(code, "recipient refused", first.message if first else "") from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _classify(exc.code, "SMTP server refused the invite", exc.message) from None
        except aiosmtplib.SMTPNotSupported as exc:
            raise PermanentDeliveryError(f"SMTP server lacks a feature: {exc.message}") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Connection refused, timeouts, disconnects: the server may come back.
            raise RetryableDeliveryError(f"SMTP transport error: {type(exc).__name__}") from None
        # Only the recipient's domain: neither the link nor the token is ever logged.
        log.info("invite email sent", extra={"to_domain": to_address.rpartition("@")[2]})


def _classify(
    code: int, what: str, server_text: str
) -> RetryableDeliveryError | PermanentDeliveryError:
    detail = f"{what} (SMTP {code}: {server_text[:200]})"
    if 400 <= code < 500:
        return RetryableDeliveryError(detail, status=code)
    return PermanentDeliveryError(detail, status=code)
