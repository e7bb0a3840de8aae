"""Base of upstream payload models, and the one way validation errors become PayloadError."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from bridge.errors import PayloadError

T = TypeVar("T")


class UpstreamModel(BaseModel):
    """Upstream payload: unknown keys are ignored so vendor additions never break parsing."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


def error_path(exc: ValidationError) -> str:
    """Dotted path of the first failing field, e.g. `data.key.id` (list indexes as numbers)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return ""
    # Discriminated unions add their tag (named `kind:value` here) to `loc`; keep only real keys.
    return ".".join(str(part) for part in errors[0]["loc"] if ":" not in str(part))


def validate_payload(adapter: TypeAdapter[T], raw: Any, *, source: str) -> T:
    """Validate `raw`; raise PayloadError naming the first failing field path."""
    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        path = error_path(exc)
        first = exc.errors(include_url=False)[0]["msg"] if exc.errors() else "invalid"
        raise PayloadError(
            f"{source} payload invalid at {path or '<root>'}: {first}", path=path
        ) from exc


def _is_word(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _to_int(value: Any) -> Any:
    """Accept ints, decimal strings and protobuf Long objects ({low, high, unsigned})."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, dict) and _is_word(value.get("low")) and _is_word(value.get("high")):
        low, high = int(value["low"]), int(value["high"])
        unsigned = bool(value.get("unsigned"))
        combined = (high << 32) | (low & 0xFFFFFFFF)
        if not unsigned and combined >= 1 << 63:
            combined -= 1 << 64
        return combined
    return value


LongInt = Annotated[int, BeforeValidator(_to_int)]
"""int64 as sent by any Evolution version: number, decimal string or Long object."""
