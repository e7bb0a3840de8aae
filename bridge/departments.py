"""The departments file (DESIGN.md §5): where each triage outcome goes in Chatwoot."""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge.errors import ConfigError


def fold_key(value: str) -> str:
    """Case- and accent-insensitive form of a department key ("Sálès " → "sales")."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip().casefold()


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    chatwoot_inbox_id: int | None = Field(default=None, ge=1)
    chatwoot_team_id: int | None = Field(default=None, ge=1)
    chatwoot_email_inbox_id: int | None = Field(default=None, ge=1)
    email: str | None = None
    auto_reply: str | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError("must be an email address")
        return value


class Departments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    department: tuple[Department, ...] = ()

    @field_validator("department")
    @classmethod
    def _unique_keys(cls, value: tuple[Department, ...]) -> tuple[Department, ...]:
        keys = [fold_key(d.key) for d in value]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"duplicate department keys: {', '.join(duplicates)}")
        return value

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.department]

    def find(self, key: str) -> Department | None:
        wanted = fold_key(key)
        return next((d for d in self.department if fold_key(d.key) == wanted), None)

    def by_inbox(self, cw_inbox_id: int) -> Department | None:
        return next((d for d in self.department if d.chatwoot_inbox_id == cw_inbox_id), None)

    def require_inbox_ids(self) -> None:
        """`bridge serve` needs every department routed to an inbox."""
        missing = [d.key for d in self.department if d.chatwoot_inbox_id is None]
        if not self.department:
            raise ConfigError("BRIDGE_DEPARTMENTS_FILE: no [[department]] defined")
        if missing:
            raise ConfigError(
                "BRIDGE_DEPARTMENTS_FILE: chatwoot_inbox_id missing for "
                f"{', '.join(missing)} (run `bridge setup` to create the inboxes)"
            )


def load_departments(path: Path) -> Departments:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"BRIDGE_DEPARTMENTS_FILE: {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"BRIDGE_DEPARTMENTS_FILE: {path} is not valid TOML: {exc}") from None
    try:
        return Departments.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"BRIDGE_DEPARTMENTS_FILE: {path}: {problems}") from None
