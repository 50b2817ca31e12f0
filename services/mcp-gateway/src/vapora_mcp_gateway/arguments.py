"""Tool arguments: parsed as a JSON object and checked against the tool's input schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from vapora_core.errors import InvalidArgument
from vapora_mcp_gateway.models import ToolInfo


def parse_arguments(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """``arguments_json`` as a dict; empty means no arguments."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"arguments_json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(value, dict):
        raise InvalidArgument(f"arguments_json must be a JSON object, got {type(value).__name__}")
    return value


def check_arguments(tool: ToolInfo, arguments: dict[str, Any]) -> None:
    """Raise :class:`InvalidArgument` naming the first problem with ``arguments``."""
    try:
        validator_cls = jsonschema.validators.validator_for(tool.input_schema)
        validator = validator_cls(tool.input_schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    except jsonschema.exceptions.SchemaError:
        return  # the server's schema is broken; let the server judge the arguments
    if error is None:
        return
    where = "/".join(str(p) for p in error.absolute_path)
    at = f" at '{where}'" if where else ""
    raise InvalidArgument(f"arguments of {tool.scoped_name}{at}: {error.message}")
