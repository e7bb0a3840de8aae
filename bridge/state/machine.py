"""The contact FSM: one `transitions` machine, defined once, applied to throwaway models."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from transitions import EventData, Machine, MachineError

from bridge.errors import InvalidTransition
from bridge.ids import CwConversationId
from bridge.state.records import Contact, ContactState, Transition

__all__ = [
    "MACHINE",
    "REQUIRED_ARGUMENTS",
    "TRIGGERS",
    "ContactFsm",
    "ContactState",
    "MissingTriggerArgument",
    "fire",
    "legal_triggers",
]


class MissingTriggerArgument(InvalidTransition, ValueError):
    """A legal trigger was fired without the keyword argument it needs."""

    def __init__(self, state: str, trigger: str, argument: str) -> None:
        Exception.__init__(self, f"trigger {trigger!r} needs the argument {argument!r}")
        self.state = state
        self.trigger = trigger
        self.argument = argument


@dataclass(slots=True, eq=False)
class ContactFsm:
    """The per-event model the machine works on; built from a Contact, discarded after.

    `eq=False` keeps identity semantics: `transitions` compares models with `==`.
    """

    state: ContactState
    department: str | None
    cw_conversation_id: CwConversationId | None


def _model(event: EventData) -> ContactFsm:
    model = event.model
    assert isinstance(model, ContactFsm)
    return model


def _set_department(event: EventData) -> None:
    _model(event).department = str(event.kwargs["department"])


def _set_conversation(event: EventData) -> None:
    _model(event).cw_conversation_id = CwConversationId(int(event.kwargs["cw_conversation_id"]))


def _adopt_conversation(event: EventData) -> None:
    # A human answering from the phone may or may not already have a Chatwoot conversation.
    if event.kwargs.get("cw_conversation_id") is not None:
        _set_conversation(event)


def _clear_department(event: EventData) -> None:
    # Back to the bot: the next triage picks a department afresh. The conversation id stays so
    # late Chatwoot webhooks still map to the contact; the next hand_off replaces it.
    _model(event).department = None


_S = ContactState
TRANSITIONS: Final[list[dict[str, Any]]] = [
    {"trigger": "triage", "source": _S.BOT_HANDLED, "dest": _S.TRIAGED, "before": _set_department},
    {
        "trigger": "hand_off",
        "source": _S.TRIAGED,
        "dest": _S.AGENT_HANDLED,
        "before": _set_conversation,
    },
    {
        "trigger": "resolve",
        "source": [_S.AGENT_HANDLED, _S.TRIAGED],
        "dest": _S.BOT_HANDLED,
        "before": _clear_department,
    },
    # A human typed from the business phone itself (fromMe message not sent by the bridge):
    # the bot must stop talking over that person, so the contact counts as agent-handled.
    {
        "trigger": "take_over",
        "source": _S.BOT_HANDLED,
        "dest": _S.AGENT_HANDLED,
        "before": _adopt_conversation,
    },
]
TRIGGERS: Final[tuple[str, ...]] = ("triage", "hand_off", "resolve", "take_over")
REQUIRED_ARGUMENTS: Final[dict[str, tuple[str, ...]]] = {
    "triage": ("department",),
    "hand_off": ("cw_conversation_id",),
}

# A synchronous Machine is enough: every callback is pure (it only copies kwargs onto the model),
# and it avoids AsyncMachine's class-level task registry keyed by id(model) and its habit of
# cancelling callbacks of a model when another trigger arrives. One contact never has two
# triggers in flight anyway: callers hold the contact lock (repository.transaction(lock=...)).
# model=None: no model is ever bound (add_model is quadratic and keeps references forever).
MACHINE: Final = Machine(
    model=None,
    states=ContactState,
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
    send_event=True,
    ignore_invalid_triggers=False,
)


def legal_triggers(state: ContactState) -> list[str]:
    """Triggers allowed in `state` (for debug/admin views)."""
    return [t for t in TRIGGERS if t in MACHINE.get_triggers(state.name)]


def fire(
    record: Contact, trigger: str, *, reason: str = "", at_ms: int | None = None, **kwargs: Any
) -> Transition:
    """Apply `trigger` to `record` (mutated in place) and return the Transition to record.

    Raises InvalidTransition for an unknown or illegal trigger, MissingTriggerArgument (a subclass)
    when a required keyword (`department` for triage, `cw_conversation_id` for hand_off) is absent.
    """
    from_state = ContactState(record.state)
    event = MACHINE.events.get(trigger)
    if event is None or trigger not in TRIGGERS:
        raise InvalidTransition(from_state.value, trigger)
    for argument in REQUIRED_ARGUMENTS.get(trigger, ()):
        if kwargs.get(argument) is None:
            if trigger in legal_triggers(from_state):
                raise MissingTriggerArgument(from_state.value, trigger, argument)
            raise InvalidTransition(from_state.value, trigger)
    model = ContactFsm(from_state, record.department, record.cw_conversation_id)
    try:
        moved = event.trigger(model, **kwargs)
    except MachineError:
        raise InvalidTransition(from_state.value, trigger) from None
    if not moved:  # no conditions are declared, so this only guards future edits
        raise InvalidTransition(from_state.value, trigger)
    now = at_ms if at_ms is not None else time.time_ns() // 1_000_000
    record.state = ContactState(model.state)
    record.department = model.department
    record.cw_conversation_id = model.cw_conversation_id
    record.updated_at_ms = now
    return Transition(record.id, from_state, record.state, trigger, reason, now)
