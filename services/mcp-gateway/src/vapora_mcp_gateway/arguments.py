"""Tool arguments: parsed as a JSON object, held to size limits, checked against the tool's schema.

Limits, checked before anything else runs (each an :class:`InvalidArgument` naming the limit):
``arguments_json`` has at most :data:`MAX_ARGUMENTS_BYTES` bytes, nests objects and arrays at
most :data:`MAX_DEPTH` deep, and writes no number with more than :data:`MAX_NUMBER_CHARS`
characters; ``NaN`` and ``Infinity`` are not JSON. No string (key or value) may hold U+0000 or a
lone surrogate (``"\\ud800"`` parses to one, and no MCP server could be sent it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import jsonschema  # type: ignore[import-untyped]

from vapora_core.errors import InvalidArgument
from vapora_core.store_guard import text_problem
from vapora_mcp_gateway.models import ToolInfo

MAX_ARGUMENTS_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NUMBER_CHARS = 100


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise InvalidArgument(
                f"arguments_json has a number of {len(text)} characters; at most {MAX_NUMBER_CHARS} are allowed"
            )
        return kind(text)

    return parse


def _constant(name: str) -> Any:
    raise InvalidArgument(f"arguments_json holds {name}, which is not a JSON number")


def parse_arguments(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """``arguments_json`` (or arguments already parsed) as a dict; empty means no arguments."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        value: Any = dict(raw)
    elif not raw.strip():
        return {}
    else:
        size = len(raw.encode(errors="surrogatepass"))
        if size > MAX_ARGUMENTS_BYTES:
            raise InvalidArgument(f"arguments_json has {size} bytes; at most {MAX_ARGUMENTS_BYTES} are allowed")
        try:
            value = json.loads(raw, parse_int=_number(int), parse_float=_number(float), parse_constant=_constant)
        except json.JSONDecodeError as exc:
            raise InvalidArgument(
                f"arguments_json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
        except RecursionError:
            raise InvalidArgument(f"arguments_json nests deeper than {MAX_DEPTH} levels") from None
    if not isinstance(value, dict):
        raise InvalidArgument(f"arguments_json must be a JSON object, got {type(value).__name__}")
    _check_values(value)
    return dict(value)


def _check_values(value: dict[str, Any]) -> None:
    """Depth, strings and numbers of parsed arguments, without recursion (the depth is the caller's)."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidArgument(f"arguments_json nests deeper than {MAX_DEPTH} levels (at {path or '/'})")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    _check_text(key, f"a key at {path or '/'}")
                stack.append((child, f"{path}/{key}", depth + 1))
        elif isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidArgument(f"arguments_json at {path} is {item}, not a finite number")
        elif isinstance(item, int) and item.bit_length() > MAX_NUMBER_CHARS * 10 // 3:
            raise InvalidArgument(f"arguments_json at {path} has a number longer than {MAX_NUMBER_CHARS} digits")


def _check_text(text: str, where: str) -> None:
    problem = text_problem(text)
    if problem is not None:
        raise InvalidArgument(f"arguments_json at {where} {problem}")


MAX_VALIDATORS = 4096
# A validator per input schema (the schema kept with it, so a reused id() is never mistaken for it).
_validators: dict[int, tuple[dict[str, Any], Any]] = {}


def _validator(schema: dict[str, Any]) -> Any:
    kept = _validators.get(id(schema))
    if kept is not None and kept[0] is schema:
        return kept[1]
    if len(_validators) >= MAX_VALIDATORS:  # catalogues replaced many times over: start afresh
        _validators.clear()
    validator = jsonschema.validators.validator_for(schema)(schema)
    _validators[id(schema)] = (schema, validator)
    return validator


def check_arguments(tool: ToolInfo, arguments: dict[str, Any]) -> None:
    """Raise :class:`InvalidArgument` naming the first problem with ``arguments``."""
    try:
        error = jsonschema.exceptions.best_match(_validator(tool.input_schema).iter_errors(arguments))
    except jsonschema.exceptions.SchemaError:
        return  # the server's schema is broken; let the server judge the arguments
    if error is None:
        return
    where = "/".join(str(p) for p in error.absolute_path)
    at = f" at '{where}'" if where else ""
    raise InvalidArgument(f"arguments of {tool.scoped_name}{at}: {error.message}")
