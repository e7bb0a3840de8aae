"""Structured logging: JSON lines (or console) with request ids and secret redaction."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bridge_request_id", default=None
)

# Credentials that can show up in free text even when they are not one of our own secrets:
# bearer tokens, api keys and passwords in query strings or key=value pairs, JWTs.
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:api[_-]?key|api_access_token|access_token|token|secret|password|"
        r"sso_auth_token|x-api-key|x-webhook-secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
    ),
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
]
REDACTED = "[redacted]"


class RedactingFilter(logging.Filter):
    """Replaces known secret values and credential-looking text in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(formatted)
            record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


_STANDARD_ATTRS = set(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields passed with `extra=` are included."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and value is not None:
                entry[key] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_text:
            entry["exc"] = record.exc_text
        text = json.dumps(entry, ensure_ascii=False)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                # A lone surrogate (half an emoji from a webhook) cannot be written as UTF-8:
                # the stream would drop the whole line. Escaped, it is still valid JSON.
                text = json.dumps(entry)
        return text


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.exc_text and record.exc_text not in text:
            text = f"{text}\n{record.exc_text}"
        return text


def configure_logging(
    fmt: str, secrets: Iterable[str] = (), *, level: int = logging.INFO
) -> logging.Handler:
    """Install one stderr handler on the root logger; returns it (tests attach their own)."""
    handler = logging.StreamHandler(sys.stderr)
    install_filters(handler, secrets)
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The FSM library narrates every callback at INFO (three lines per state change, the bulk
    # of a busy bridge's log and a few percent of its CPU); transitions are recorded anyway,
    # in the transitions table and the bridge_fsm_transitions_total metric.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    return handler


def install_filters(handler: logging.Handler, secrets: Iterable[str] = ()) -> None:
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactingFilter(secrets))
