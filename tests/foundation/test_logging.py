"""Log redaction: secrets from settings and credential-looking text never reach a log line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bridge.logs import (
    JsonFormatter,
    RedactingFilter,
    configure_logging,
    install_filters,
    request_id_var,
)
from tests.factories import TEST_SECRETS, make_settings


@pytest.fixture
def captured() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    install_filters(handler, make_settings().secret_values())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.redaction")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


def test_every_settings_secret_is_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    for name, value in TEST_SECRETS.items():
        logger.info("config %s is %s", name, value)
        logger.warning("extra field", extra={"detail": f"token was {value}"})
    output = stream.getvalue()
    for value in TEST_SECRETS.values():
        for part in value.split(","):
            assert part not in output
    assert output.count("[redacted]") >= len(TEST_SECRETS)


def test_secrets_in_tracebacks_are_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    secret = TEST_SECRETS["evolution_api_key"]
    try:
        raise ValueError(f"upstream refused key {secret}")
    except ValueError:
        logger.exception("send failed")
    line = json.loads(stream.getvalue().strip())
    assert "ValueError" in line["exc"]
    assert secret not in stream.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdef123456",
        "GET /webhooks/chatwoot?token=qwerty987",
        "headers {'apikey': 'evokey999'}",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "password=hunter2hunter2",
    ],
)
def test_credential_patterns_are_redacted(text: str) -> None:
    redacted = RedactingFilter().redact(text)
    assert "[redacted]" in redacted
    for secret in ("abcdef123456", "qwerty987", "evokey999", "c2lnbmF0dXJl", "hunter2hunter2"):
        assert secret not in redacted


def test_json_lines_carry_request_id(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    token = request_id_var.set("req-42")
    try:
        logger.info("hello %s", "world", extra={"contact": "inst/123@lid"})
    finally:
        request_id_var.reset(token)
    line = json.loads(stream.getvalue().strip())
    assert line["msg"] == "hello world"
    assert line["request_id"] == "req-42"
    assert line["contact"] == "inst/123@lid"
    assert line["level"] == "info"


def test_the_fsm_library_does_not_narrate_every_transition() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("json")
        narrator = logging.getLogger("transitions.core")
        assert not narrator.isEnabledFor(logging.INFO)
        assert narrator.isEnabledFor(logging.WARNING)  # its real problems still show
        assert logging.getLogger("bridge.flows").isEnabledFor(logging.INFO)
    finally:
        root.handlers = handlers
        root.setLevel(level)
        logging.getLogger("transitions").setLevel(logging.NOTSET)


def test_a_lone_surrogate_is_written_as_an_escape_not_lost() -> None:
    """Half an emoji ("\\ud83d" escaped in a webhook's JSON) must not cost the log line: the
    stream encodes UTF-8 strictly, as stderr does."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", write_through=True)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.surrogate")
    logger.handlers = [handler]
    logger.propagate = False
    logger.warning("customer wrote %s and café", "\ud83d")
    line = json.loads(raw.getvalue().decode("utf-8"))
    assert line["msg"] == "customer wrote \ud83d and café"
