"""Contract-test helper: check a captured httpx request against a vendor OpenAPI document."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from typing import Any

import httpx
import jsonschema
import yaml

from tests.contracts_dir import CONTRACTS_DIR

SchemaPatch = Callable[[dict[str, Any]], dict[str, Any]]


class OpenApiSpec:
    """Paths are matched against templates (`{id}` = one segment) after removing `prefix`."""

    def __init__(self, doc: dict[str, Any], *, prefix: str = "") -> None:
        self.doc = doc
        self.prefix = prefix
        self._templates = [
            (re.compile("^" + re.sub(r"\{[^/}]+\}", "[^/]+", template) + "$"), template)
            for template in doc["paths"]
        ]

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def find(self, method: str, path: str) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        """(template, path item, operation) of a concrete path, or None when not in the spec."""
        local = path.removeprefix(self.prefix)
        # Prefer literal templates (`contacts/search`) over parameter ones (`contacts/{id}`).
        matches = sorted(
            (t for rx, t in self._templates if rx.match(local)), key=lambda t: t.count("{")
        )
        for template in matches:
            item = self.doc["paths"][template]
            if method.lower() in item:
                return template, item, item[method.lower()]
        return None

    def parameter_names(self, item: dict[str, Any], op: dict[str, Any], where: str) -> set[str]:
        params = [self.resolve(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
        return {p["name"] for p in params if p.get("in") == where}

    def body_schema(
        self, op: dict[str, Any], content_type: str = "application/json"
    ) -> dict[str, Any]:
        body = self.resolve(op["requestBody"])
        schema = copy.deepcopy(self.resolve(body["content"][content_type]["schema"]))
        return schema

    def validate(
        self,
        request: httpx.Request,
        *,
        patch: SchemaPatch | None = None,
        undocumented_body: bool = False,
    ) -> str:
        """Assert method+path exist, query names are declared, and the JSON body fits.

        `undocumented_body`: the spec omits a body the vendor's code reads (say why at the call).
        """
        found = self.find(request.method, request.url.path)
        assert found is not None, f"{request.method} {request.url.path} is not in the spec"
        template, item, op = found
        declared = self.parameter_names(item, op, "query")
        for name in request.url.params:
            assert name in declared, f"query parameter {name!r} not declared for {template}"
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json") and "requestBody" not in op:
            assert undocumented_body, f"{template} documents no request body"
        elif ctype.startswith("application/json"):
            schema = self.body_schema(op)
            if patch is not None:
                schema = patch(schema)
            root = {**schema, "components": self.doc.get("components", {})}
            jsonschema.Draft202012Validator(root).validate(json.loads(request.content))
        elif ctype.startswith("multipart/form-data"):
            assert "multipart/form-data" in self.resolve(op["requestBody"])["content"]
        return template


@cache
def chatwoot_spec() -> OpenApiSpec:
    return OpenApiSpec(json.loads((CONTRACTS_DIR / "chatwoot" / "swagger.json").read_text()))


@cache
def typebot_spec() -> OpenApiSpec:
    # The spec's server is `https://typebot.io/api`: its paths start after `/api`.
    doc = json.loads((CONTRACTS_DIR / "typebot" / "openapi" / "viewer.v3.18.0.json").read_text())
    return OpenApiSpec(doc, prefix="/api")


@cache
def mailcow_spec() -> OpenApiSpec:
    return OpenApiSpec(yaml.safe_load((CONTRACTS_DIR / "mailcow" / "openapi.yaml").read_text()))
