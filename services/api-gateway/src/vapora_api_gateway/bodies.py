"""The base of every request body: strict types, the one text rule, white space, and a JSON Schema
that says all of it, so what the OpenAPI document allows is what the server accepts.

A :class:`Body` refuses unknown fields, takes types strictly (``"0.5"`` is not a number, ``1`` not a
boolean) and holds every string in it — nested ones and dictionary keys too — to the text rule of
:mod:`vapora_api_gateway.text`. Strings are stripped of surrounding white space after their length
is checked; one with a minimum length must not be blank. A :data:`VERBATIM` string (a password) is
kept exactly as sent.
"""

from __future__ import annotations

from typing import Any

import annotated_types
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from vapora_api_gateway import text


class _Verbatim:
    """Marks a string field that is neither stripped nor required to be non-blank."""

    def __repr__(self) -> str:
        return "Verbatim"


VERBATIM = _Verbatim()


def _check(value: Any, where: str) -> None:
    if isinstance(value, str):
        problem = text.flaw(value)
        if problem is not None:
            raise PydanticCustomError("text", "{where}{problem}", {"where": where, "problem": problem})
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, f"key '{text.escape(str(key))}' ")
            _check(item, f"['{text.escape(str(key))}'] ")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"[{i}] ")


def _document(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Say the text rule (and, where a minimum length is set, "not blank") in the JSON Schema."""
    for name, prop in schema.get("properties", {}).items():
        field = model.model_fields.get(name)
        verbatim = field is not None and VERBATIM in field.metadata
        _document_string(prop, not_blank=not verbatim)


def _document_string(schema: dict[str, Any], *, not_blank: bool) -> None:
    for branch in schema.get("anyOf", ()):
        _document_string(branch, not_blank=not_blank)
    if schema.get("type") == "object":
        for sub in ("additionalProperties", "propertyNames"):
            if isinstance(schema.get(sub), dict):
                schema[sub].setdefault("pattern", text.PATTERN)
    if schema.get("type") != "string" or "enum" in schema or "const" in schema:
        return
    if "pattern" not in schema:  # a field's own pattern already refuses U+0000 (a test checks)
        schema["pattern"] = text.NOT_BLANK if not_blank and schema.get("minLength", 0) > 0 else text.PATTERN


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re", json_schema_extra=_document)

    @field_validator("*", mode="before")
    @classmethod
    def _text_rule(cls, value: Any) -> Any:
        _check(value, "")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _strip(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str) or info.field_name is None:
            return value
        metadata = cls.model_fields[info.field_name].metadata
        if VERBATIM in metadata:
            return value
        stripped = value.strip()
        if not stripped and any(isinstance(m, annotated_types.MinLen) and m.min_length > 0 for m in metadata):
            raise PydanticCustomError("blank", "must not be blank (white space only)")
        return stripped
