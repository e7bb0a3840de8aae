"""The contact FSM: every (state, trigger) pair, required arguments, no per-contact machinery."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bridge.errors import InvalidTransition
from bridge.ids import CwConversationId, InstanceName, WaJid
from bridge.state import MACHINE, TRIGGERS, Contact, ContactState, MissingTriggerArgument, fire
from bridge.state.machine import legal_triggers

S = ContactState
ARGS: dict[str, dict[str, Any]] = {
    "triage": {"department": "DTV"},
    "hand_off": {"cw_conversation_id": 42},
}
EXPECTED: dict[tuple[ContactState, str], ContactState | None] = {
    (S.BOT_HANDLED, "triage"): S.TRIAGED,
    (S.BOT_HANDLED, "hand_off"): None,
    (S.BOT_HANDLED, "resolve"): None,
    (S.BOT_HANDLED, "take_over"): S.AGENT_HANDLED,
    (S.TRIAGED, "triage"): None,
    (S.TRIAGED, "hand_off"): S.AGENT_HANDLED,
    (S.TRIAGED, "resolve"): S.BOT_HANDLED,
    (S.TRIAGED, "take_over"): None,
    (S.AGENT_HANDLED, "triage"): None,
    (S.AGENT_HANDLED, "hand_off"): None,
    (S.AGENT_HANDLED, "resolve"): S.BOT_HANDLED,
    (S.AGENT_HANDLED, "take_over"): None,
}


def _contact(state: ContactState = S.BOT_HANDLED) -> Contact:
    return Contact(
        id=7, instance=InstanceName("main"), wa_jid=WaJid("27820000001@s.whatsapp.net"), state=state
    )


def test_table_covers_every_pair() -> None:
    assert set(EXPECTED) == set(itertools.product(S, TRIGGERS))


@pytest.mark.parametrize(("state", "trigger"), sorted(EXPECTED, key=str))
def test_every_state_trigger_pair(state: ContactState, trigger: str) -> None:
    contact = _contact(state)
    expected = EXPECTED[(state, trigger)]
    if expected is None:
        with pytest.raises(InvalidTransition) as info:
            fire(contact, trigger, **ARGS.get(trigger, {}))
        assert info.value.state == state.value
        assert info.value.trigger == trigger
        assert contact.state is state
        return
    transition = fire(contact, trigger, reason="test", at_ms=123, **ARGS.get(trigger, {}))
    assert contact.state is expected
    assert (transition.from_state, transition.to_state) == (state, expected)
    assert (transition.contact_id, transition.trigger, transition.reason) == (7, trigger, "test")
    assert transition.at_ms == contact.updated_at_ms == 123


@pytest.mark.parametrize("state", list(S))
def test_legal_triggers_match_table(state: ContactState) -> None:
    legal = {t for t in TRIGGERS if EXPECTED[(state, t)] is not None}
    assert set(legal_triggers(state)) == legal


def test_triage_records_department_and_resolve_clears_it() -> None:
    contact = _contact()
    fire(contact, "triage", department="Sales")
    assert contact.department == "Sales"
    fire(contact, "hand_off", cw_conversation_id=99)
    assert contact.cw_conversation_id == CwConversationId(99)
    fire(contact, "resolve", reason="conversation resolved")
    assert contact.state is S.BOT_HANDLED
    assert contact.department is None
    assert contact.cw_conversation_id == 99  # kept for late webhooks, replaced by next hand_off


@pytest.mark.parametrize(
    ("state", "trigger", "argument"),
    [(S.BOT_HANDLED, "triage", "department"), (S.TRIAGED, "hand_off", "cw_conversation_id")],
)
def test_missing_argument_is_refused(state: ContactState, trigger: str, argument: str) -> None:
    contact = _contact(state)
    with pytest.raises(MissingTriggerArgument) as info:
        fire(contact, trigger)
    assert info.value.argument == argument
    assert isinstance(info.value, InvalidTransition)
    assert isinstance(info.value, ValueError)
    assert contact.state is state


def test_take_over_adopts_conversation_when_given() -> None:
    bare, with_conversation = _contact(), _contact()
    fire(bare, "take_over")
    fire(with_conversation, "take_over", cw_conversation_id=5)
    assert bare.cw_conversation_id is None
    assert with_conversation.cw_conversation_id == 5
    assert bare.state is with_conversation.state is S.AGENT_HANDLED


@pytest.mark.parametrize("trigger", ["to_triaged", "nonsense", "trigger", ""])
def test_unknown_trigger_is_invalid(trigger: str) -> None:
    with pytest.raises(InvalidTransition):
        fire(_contact(), trigger)


def test_machine_keeps_no_models() -> None:
    contacts = [_contact() for _ in range(100)]
    for contact in contacts:
        fire(contact, "triage", department="DTV")
    assert MACHINE.models == []
    assert all(not hasattr(c, "trigger") for c in contacts)
    assert not hasattr(MACHINE, "to_triaged")
