"""Pydantic models of the staff/provisioning API bodies (DESIGN §6)."""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    model_validator,
)

# Dot-atom local part and hostname labels (RFC 5321/5322 subset; no quoted strings, no IP
# literals): strict on purpose, email-validator is not a dependency.
_EMAIL_RE = re.compile(
    r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$"
)
_MAX_EMAIL_LEN = 254
_MAX_LOCAL_LEN = 64


def normalize_email(value: str) -> str:
    """Validate an email address and lowercase its domain; raises ValueError."""
    candidate = value.strip()
    match = _EMAIL_RE.match(candidate)
    if match is None or len(candidate) > _MAX_EMAIL_LEN:
        raise ValueError("is not a valid email address")
    if len(match.group("local")) > _MAX_LOCAL_LEN:
        raise ValueError("is not a valid email address (local part longer than 64 characters)")
    return f"{match.group('local')}@{match.group('domain').lower()}"


Email = Annotated[str, AfterValidator(normalize_email)]
Role = Literal["agent", "administrator"]
EmployeeStatus = Literal["active", "pending", "failed", "disabled"]
StepName = Literal["mailbox", "chatwoot_user", "team", "inboxes", "invite"]
StepStatus = Literal["done", "pending", "failed"]
STEP_NAMES: tuple[StepName, ...] = ("mailbox", "chatwoot_user", "team", "inboxes", "invite")

LoginName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
NamePart = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 ()-]{5,24}$")]


class EmployeeIn(BaseModel):
    """Body of `POST /api/employees`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    first_name: NamePart
    last_name: NamePart
    personal_email: Email
    department: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    role: Role
    phone: Phone | None = None


class EmployeeOut(BaseModel):
    """An employee with per-step provisioning status (dump with `exclude_none=True`)."""

    model_config = ConfigDict(extra="forbid")

    username: str
    email: str
    first_name: str
    last_name: str
    department: str
    role: Role
    status: EmployeeStatus
    steps: dict[StepName, StepStatus]
    error: str | None = None


class LoginIn(BaseModel):
    """Body of `POST /auth/login`: `login` (or `username` / `email`) and `password`."""

    # Forms may carry extra fields (CSRF token, "next"): ignore them.
    model_config = ConfigDict(extra="ignore", frozen=True)

    login: LoginName = Field(validation_alias=AliasChoices("login", "username", "email"))
    password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]

    @property
    def login_key(self) -> str:
        """Lowercased login; usernames and email addresses are matched case-insensitively."""
        return self.login.lower()


class SetPasswordIn(BaseModel):
    """Body of `POST /onboarding/{token}` (form or JSON); both entries must match."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    password: Annotated[SecretStr, Field(min_length=1, max_length=1024)]
    password_confirm: Annotated[SecretStr, Field(min_length=1, max_length=1024)]

    @model_validator(mode="after")
    def _passwords_match(self) -> SetPasswordIn:
        first = self.password.get_secret_value().encode("utf-8")
        second = self.password_confirm.get_secret_value().encode("utf-8")
        if not hmac.compare_digest(first, second):
            raise ValueError("the two passwords do not match")
        return self


def validation_error_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Field path and message of each error, without the input (which may hold a password)."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
