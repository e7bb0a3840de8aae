"""The state layer: the contact FSM and the repository (SQLite or PostgreSQL) behind it."""

from __future__ import annotations

from bridge.state.database import Database, Dialect, LockKey
from bridge.state.machine import (
    MACHINE,
    TRIGGERS,
    ContactFsm,
    MissingTriggerArgument,
    fire,
    legal_triggers,
)
from bridge.state.migrations import LATEST_VERSION, migrate, schema_version
from bridge.state.outbox import OutboxStats
from bridge.state.records import (
    Contact,
    ContactState,
    DeadLetter,
    Direction,
    InboundEvent,
    InboundStatus,
    MessageLink,
    OutboxItem,
    OutboxStatus,
    TranscriptEntry,
    Transition,
)
from bridge.state.repository import Repository, SqlRepository, open_repository

__all__ = [
    "LATEST_VERSION",
    "MACHINE",
    "TRIGGERS",
    "Contact",
    "ContactFsm",
    "ContactState",
    "Database",
    "DeadLetter",
    "Dialect",
    "Direction",
    "InboundEvent",
    "InboundStatus",
    "LockKey",
    "MessageLink",
    "MissingTriggerArgument",
    "OutboxItem",
    "OutboxStats",
    "OutboxStatus",
    "Repository",
    "SqlRepository",
    "TranscriptEntry",
    "Transition",
    "fire",
    "legal_triggers",
    "migrate",
    "open_repository",
    "schema_version",
]
