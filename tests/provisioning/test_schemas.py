"""Staff API body models."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from provisioning.schemas import (
    EmployeeIn,
    EmployeeOut,
    LoginIn,
    SetPasswordIn,
    normalize_email,
    validation_error_details,
)


def employee(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "  Kay ",
        "last_name": "Ntulo",
        "personal_email": " kay.personal@Gmail.COM ",
        "department": "DTV",
        "role": "agent",
    }
    body.update(overrides)
    return body


def test_employee_in_strips_and_normalises() -> None:
    parsed = EmployeeIn.model_validate(employee(phone="+27 82 555 0100"))
    assert parsed.first_name == "Kay"
    assert parsed.personal_email == "kay.personal@gmail.com"
    assert parsed.phone == "+27 82 555 0100"
    assert EmployeeIn.model_validate(employee()).phone is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("personal_email", "not-an-email"),
        ("personal_email", "kay@localhost"),
        ("personal_email", "kay..x@example.org"),
        ("personal_email", "kay@exa mple.org"),
        ("personal_email", "a" * 65 + "@example.org"),
        ("role", "owner"),
        ("first_name", "   "),
        ("department", ""),
        ("phone", "call me"),
    ],
)
def test_employee_in_rejects_bad_values(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        EmployeeIn.model_validate(employee(**{field: value}))
    assert any(err["loc"][0] == field for err in info.value.errors())


def test_employee_in_forbids_unknown_fields() -> None:
    with pytest.raises(ValidationError) as info:
        EmployeeIn.model_validate(employee(is_admin=True))
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_employee_in_requires_fields() -> None:
    body = employee()
    del body["last_name"]
    with pytest.raises(ValidationError):
        EmployeeIn.model_validate(body)


def test_employee_out_omits_missing_error() -> None:
    out = EmployeeOut(
        username="kay.ntulo",
        email="kay.ntulo@mmallelectronics.co.za",
        first_name="Kay",
        last_name="Ntulo",
        department="DTV",
        role="agent",
        status="pending",
        steps={"mailbox": "done", "chatwoot_user": "pending"},
    )
    dumped = out.model_dump(exclude_none=True)
    assert "error" not in dumped
    assert dumped["steps"] == {"mailbox": "done", "chatwoot_user": "pending"}
    with pytest.raises(ValidationError):
        EmployeeOut.model_validate({**dumped, "steps": {"mailbox": "maybe"}})
    with pytest.raises(ValidationError):
        EmployeeOut.model_validate({**dumped, "status": "deleted"})


@pytest.mark.parametrize("key", ["login", "username", "email"])
def test_login_accepts_aliases(key: str) -> None:
    parsed = LoginIn.model_validate({key: " Kay.Ntulo ", "password": " secret pw ", "csrf": "x"})
    assert parsed.login == "Kay.Ntulo"
    assert parsed.login_key == "kay.ntulo"
    # Passwords are never stripped and never shown.
    assert parsed.password.get_secret_value() == " secret pw "
    assert "secret pw" not in repr(parsed)


def test_login_requires_password() -> None:
    with pytest.raises(ValidationError):
        LoginIn.model_validate({"login": "kay.ntulo", "password": ""})


def test_set_password_must_match() -> None:
    ok = SetPasswordIn.model_validate(
        {"password": "Tangerine-Orbit-42", "password_confirm": "Tangerine-Orbit-42"}
    )
    assert ok.password.get_secret_value() == "Tangerine-Orbit-42"
    with pytest.raises(ValidationError) as info:
        SetPasswordIn.model_validate(
            {"password": "Tangerine-Orbit-42", "password_confirm": "Tangerine-Orbit-43"}
        )
    details = validation_error_details(info.value)
    assert "do not match" in details[0]["message"]
    assert "Tangerine" not in str(details)


def test_normalize_email_keeps_local_case() -> None:
    assert normalize_email("Kay.Ntulo@MMAll.co.za") == "Kay.Ntulo@mmall.co.za"
    with pytest.raises(ValueError, match="not a valid email"):
        normalize_email("kay@@example.org")
