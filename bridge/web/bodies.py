"""Reading request bodies: content type → 415, malformed JSON → 400, wrong shape → 422."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bridge.web.errors import ApiError

ModelT = TypeVar("ModelT", bound=BaseModel)

_JSON_TYPES = {"application/json"}


def require_json_content_type(request: web.Request) -> None:
    content_type = request.content_type
    if content_type not in _JSON_TYPES and not content_type.endswith("+json"):
        raise ApiError(
            415, "unsupported_media_type", f"expected application/json, got {content_type!r}"
        )


async def read_raw_json(request: web.Request) -> tuple[bytes, Any]:
    """The raw bytes (for signatures) and the decoded JSON document."""
    require_json_content_type(request)
    raw = await request.read()
    return raw, decode_json(raw)


def decode_json(raw: bytes) -> Any:
    """Malformed JSON is the client's mistake: 400."""
    try:
        return json.loads(raw)
    # ValueError too: an integer beyond Python's digit limit is the client's mistake, not ours.
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "request body nests too deeply") from None


def validation_path(error: ValidationError) -> str:
    first = error.errors()[0]
    return ".".join(str(part) for part in first["loc"])


def parse_model(model: type[ModelT], document: Any) -> ModelT:
    """Validate an already decoded document; 422 names the first failing field."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        path = validation_path(exc)
        first = exc.errors()[0]
        raise ApiError(
            422, "invalid_payload", f"{path or 'body'}: {first['msg']}", path=path
        ) from None


async def read_model(request: web.Request, model: type[ModelT]) -> ModelT:
    _, document = await read_raw_json(request)
    return parse_model(model, document)
