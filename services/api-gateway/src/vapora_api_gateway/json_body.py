"""Request bodies decoded as strict JSON within limits, before anything is built from them.

Python's ``json`` recurses once per nesting level (a body nested 100,000 deep raises
RecursionError), converts any digit run to an ``int`` (100,000 digits raise ValueError past the
interpreter's 4,300-digit limit, and cost quadratic time below it) and accepts ``NaN`` and
``Infinity``, which are not JSON. Here nesting is counted before parsing, each number's length is
checked before it is converted, and the non-JSON constants and non-finite numbers are refused:
each breach is an :class:`InvalidArgument` naming the limit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from vapora_core.errors import InvalidArgument

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 100

# A JSON string, escapes and all (an unterminated one runs to the end: linear time, no rescans).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"?', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")  # depth does not care which kind of bracket


def _too_deep(raw: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``.

    Each round deletes the innermost bracket pairs (one C pass over what is left); a pair still
    there after ``limit`` rounds sat deeper than that. Bodies with fewer brackets are not scanned.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", raw).translate(_SQUARE, _NOT_BRACKETS)
    if b"[" * (limit + 1) in brackets:
        return True
    for _ in range(limit):
        inner = brackets.replace(b"[]", b"")
        if inner == brackets:  # no pair left: balanced and done, or unbalanced (the parser says so)
            return False
        brackets = inner
    return b"[]" in brackets


def _number(kind: type[int] | type[float]) -> Any:
    def convert(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_CHARS:
            raise InvalidArgument(
                f"the request body holds a number of {len(literal)} characters; "
                f"numbers are at most {MAX_NUMBER_CHARS} characters long"
            )
        value = kind(literal)
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidArgument(f"the request body holds the number {literal}, which is out of range")
        return value

    return convert


def _constant(name: str) -> Any:
    raise InvalidArgument(f"the request body is not JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_int=_number(int), parse_float=_number(float), parse_constant=_constant)


def decode(raw: bytes) -> Any:
    """The JSON value of ``raw`` (UTF-8), or :class:`InvalidArgument` saying what is wrong."""
    if _too_deep(raw, MAX_DEPTH):
        raise InvalidArgument(f"the request body is nested deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidArgument(f"the request body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"the request body is not JSON: {exc.msg} (character {exc.pos})") from None
