"""The OpenAPI 3.1 document, built from the same route table the router is built from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from vapora_api_gateway.models import Problem
from vapora_api_gateway.routes import Route

_PLACEHOLDER = re.compile(r"{([^}]+)}")


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _param(p: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.kind}
    if p.enum:
        schema["enum"] = list(p.enum)
    if p.minimum is not None:
        schema["minimum"] = p.minimum
    if p.maximum is not None:
        schema["maximum"] = p.maximum
    if p.kind == "string" and not p.enum:
        schema["maxLength"] = 4096
    return {"name": p.name, "in": p.where, "required": False, "description": p.description, "schema": schema}


def build(routes: Sequence[Route], *, version: str = "0.1.0") -> dict[str, Any]:
    components: dict[str, Any] = {}
    problem = _schema_ref(Problem, components)
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {
            "operationId": f"{r.tag}_{r.handler.__name__}",
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
                for n in _PLACEHOLDER.findall(r.path)
            ]
            + [_param(p) for p in r.params],
            "responses": {},
        }
        if r.action:
            op["x-cedar-action"] = r.action
        if r.public:
            op["security"] = []
        if r.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _schema_ref(r.body, components)}},
            }
        ok: dict[str, Any] = {"description": "OK" if r.status != 201 else "Created"}
        if r.response is not None and r.status not in (101, 204):
            ok["content"] = {r.media: {"schema": _schema_ref(r.response, components)}}
        op["responses"][str(r.status)] = ok
        for code in r.errors:
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
