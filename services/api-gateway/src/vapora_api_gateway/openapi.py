"""The OpenAPI 3.1 document, built from the same route table the router is built from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from vapora_api_gateway.models import Problem
from vapora_api_gateway.params import path_param
from vapora_api_gateway.routes import Route

_PLACEHOLDER = re.compile(r"{([^}]+)}")


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _error_statuses(r: Route) -> list[int]:
    """The route's own problems, and those every route can answer: 400 (a bad parameter, an
    over-long request line or header), 429 (rate limits), 401 (credentials), 413 (body size)."""
    codes = {*r.errors, 400, 429}
    if not r.public:
        codes.add(401)
    if r.body is not None:
        codes.add(413)
    return sorted(codes)


def build(routes: Sequence[Route], *, version: str = "0.1.0") -> dict[str, Any]:
    components: dict[str, Any] = {}
    problem = _schema_ref(Problem, components)
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {
            "operationId": f"{r.tag}_{r.handler.__name__}",
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": [path_param(n).schema() for n in _PLACEHOLDER.findall(r.path)]
            + [p.schema() for p in r.params],
            "responses": {},
        }
        if r.action:
            op["x-cedar-action"] = r.action
        if r.public:
            op["security"] = []
        if r.body is not None:
            op["requestBody"] = {
                "required": any(f.is_required() for f in r.body.model_fields.values()),
                "content": {"application/json": {"schema": _schema_ref(r.body, components)}},
            }
        ok: dict[str, Any] = {"description": "OK" if r.status != 201 else "Created"}
        if r.response is not None and r.status not in (101, 204):
            ok["content"] = {r.media: {"schema": _schema_ref(r.response, components)}}
        elif r.media.startswith("text/"):
            ok["content"] = {r.media: {"schema": {"type": "string"}}}
        op["responses"][str(r.status)] = ok
        for code in _error_statuses(r):
            op["responses"][str(code)] = {
                "description": "Problem",
                "content": {"application/problem+json": {"schema": problem}},
            }
        paths.setdefault(r.full_path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vapora API",
            "version": version,
            "description": "The public REST and realtime API of Vapora. Errors are application/problem+json.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT or vpr_ API token"}
            },
        },
    }
