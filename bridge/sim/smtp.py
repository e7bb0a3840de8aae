"""SMTP sink: an aiosmtpd server on loopback that records every message, plus an inspection app."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller


@dataclass
class SinkMessage:
    mail_from: str
    rcpt_tos: list[str]
    subject: str
    body: str
    raw: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.mail_from,
            "to": self.rcpt_tos,
            "subject": self.subject,
            "body": self.body,
        }


@dataclass
class SmtpSink:
    """aiosmtpd handler; `messages` is the Python inspection API."""

    messages: list[SinkMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.content.decode("utf-8", errors="replace")
        parsed = email.message_from_string(raw, policy=email.policy.default)
        body = ""
        if isinstance(parsed, EmailMessage):
            part = parsed.get_body(preferencelist=("plain", "html"))
            body = part.get_content() if part is not None else ""
        self.messages.append(
            SinkMessage(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                subject=str(parsed.get("Subject", "")),
                body=body,
                raw=raw,
            )
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[SinkMessage]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]


class SmtpSinkServer:
    """Runs the sink in aiosmtpd's thread; port 0 means pick a free one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sink = SmtpSink()
        self.host = host
        self.port = port or _free_port(host)
        self._controller = Controller(self.sink, hostname=host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


SINK_KEY = web.AppKey("smtp_sink", SmtpSink)


async def list_messages(request: web.Request) -> web.Response:
    return web.json_response([m.as_dict() for m in request.app[SINK_KEY].messages])


async def clear_messages(request: web.Request) -> web.Response:
    request.app[SINK_KEY].messages.clear()
    return web.json_response([])


def create_smtp_inspect_app(sink: SmtpSink) -> web.Application:
    app = web.Application()
    app[SINK_KEY] = sink
    app.router.add_get("/_sim/smtp/messages", list_messages)
    app.router.add_delete("/_sim/smtp/messages", clear_messages)
    return app
