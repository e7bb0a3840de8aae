"""Mailcow envelopes and get/* objects against every example answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from bridge.errors import PayloadError
from bridge.schemas.mailcow import (
    MailcowMailbox,
    MailcowPasswordPolicy,
    parse_mailcow_entries,
    parse_mailcow_object,
)
from tests.contracts_dir import CONTRACTS_DIR

EXAMPLES = CONTRACTS_DIR / "mailcow" / "examples"
ANSWERS = sorted([*EXAMPLES.glob("*.response*.json"), *EXAMPLES.glob("error*.json")])


def test_examples_were_found() -> None:
    assert len(ANSWERS) >= 7


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: Path(p).name)
def test_every_answer_parses(path: Path) -> None:
    raw = json.loads(path.read_text())
    if raw == {}:
        assert parse_mailcow_object(TypeAdapter(MailcowMailbox), raw) is None
        return
    entries = parse_mailcow_entries(raw)
    assert entries
    assert all(e.type in ("success", "danger", "error", "warning", "info") for e in entries)


def test_success_is_found_past_rl_saved() -> None:
    entries = parse_mailcow_entries(
        json.loads((EXAMPLES / "add-mailbox.response.success.json").read_text())
    )
    assert [e.msg_key for e in entries] == ["rl_saved", "mailbox_added"]
    assert entries[1].msg_args == ("jane.doe@example.com",)


def test_string_msg_and_single_object_form() -> None:
    [denied] = parse_mailcow_entries(
        json.loads((EXAMPLES / "delete-mailbox.response.not-found.json").read_text())
    )
    assert (denied.msg_key, denied.msg_args, denied.is_failure) == ("access_denied", (), True)
    [error] = parse_mailcow_entries({"type": "error", "msg": "authentication failed"})
    assert error.is_failure


def test_mailbox_types_are_converted() -> None:
    mailbox = parse_mailcow_object(
        TypeAdapter(MailcowMailbox),
        {"username": "a@b.test", "active": "1", "quota": "3221225472", "tags": ["mw"]},
    )
    assert mailbox is not None
    assert (mailbox.active, mailbox.quota) == (1, 3221225472)
    policy = parse_mailcow_object(
        TypeAdapter(MailcowPasswordPolicy), {"length": "12", "chars": "1", "numbers": True}
    )
    assert policy is not None
    assert (policy.length, policy.chars, policy.numbers, policy.lowerupper) == (12, 1, 1, 0)


def test_bad_entry_names_the_field() -> None:
    with pytest.raises(PayloadError) as caught:
        parse_mailcow_entries([{"msg": "x"}])
    assert caught.value.path == "0.type"
