"""Reading browser forms and JSON bodies alike, and turning validation errors into sentences."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bridge.web.bodies import read_raw_json
from bridge.web.errors import ApiError
from provisioning.identity.request_info import is_form

ModelT = TypeVar("ModelT", bound=BaseModel)


async def read_fields(request: web.Request) -> dict[str, Any]:
    """Form fields (text only) or a JSON object; 415 for anything else, 400 for bad JSON."""
    if is_form(request):
        form = await request.post()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    _, document = await read_raw_json(request)
    if not isinstance(document, dict):
        raise ApiError(422, "invalid_payload", "request body must be a JSON object")
    return document


def error_sentences(exc: ValidationError) -> list[str]:
    """Readable reasons without the input (which may be a password)."""
    sentences: list[str] = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in err["loc"])
        sentences.append(f"{field.replace('_', ' ')}: {message}" if field else message)
    return sentences


def validate(model: type[ModelT], fields: dict[str, Any]) -> ModelT | list[str]:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        return error_sentences(exc)


def text_field(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    return value if isinstance(value, str) else ""
