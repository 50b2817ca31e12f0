"""The last check before a query's parameters reach SurrealDB: no string the store cannot keep.

SurrealDB writes a string holding U+0000 and then fails to serialise every answer that would
contain it: one such value makes each later ``SELECT`` of its table fail, for good. A lone
surrogate (U+D800–U+DFFF) cannot be encoded at all. :func:`check_params` refuses both with an
:class:`~vapora_core.errors.InvalidArgument` naming where the string sits in the parameters
(``rows[3].title``), before anything is written. Keys of mappings are checked like values.
Text that must be kept whatever it holds (a tool's output) goes through :func:`scrub` first.

It runs on every query, so it is cheap: one ``in`` test per string, and a regex search only for
strings that are not ASCII (``str.isascii`` does not scan the string).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from vapora_core.errors import InvalidArgument

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTAINERS = (dict, list, tuple, set, frozenset)


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if "\x00" in value:
        return "holds a NUL character (U+0000)"
    if not value.isascii():
        found = _SURROGATE.search(value)
        if found is not None:
            return f"holds a lone surrogate (U+{ord(found.group()):04X})"
    return None


def scrub(value: str) -> str:
    """``value`` with each character the store cannot keep (U+0000, a lone surrogate) replaced by
    U+FFFD: for text from outside that must be kept rather than refused (a tool's output)."""
    if "\x00" not in value and value.isascii():
        return value
    return _SURROGATE.sub("\ufffd", value.replace("\x00", "\ufffd"))


def check_params(params: Mapping[str, Any] | None) -> None:
    """Raise :class:`InvalidArgument` naming the first string in ``params`` the store cannot keep."""
    if not params:
        return
    for name, value in params.items():
        if isinstance(value, str):
            if "\x00" in value or not value.isascii():
                _check_text(name, value)
        elif isinstance(value, _CONTAINERS):
            _walk(name, value)


def _check_text(path: str, value: str) -> None:
    problem = text_problem(value)
    if problem is not None:
        raise InvalidArgument(f"{path} {problem}; such text cannot be stored")


def _walk(path: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and ("\x00" in key or not key.isascii()):
                _check_text(f"a key of {path}", key)
            if isinstance(item, str):
                if "\x00" in item or not item.isascii():
                    _check_text(f"{path}.{key}", item)
            elif isinstance(item, _CONTAINERS):
                _walk(f"{path}.{key}", item)
        return
    for i, item in enumerate(value):
        if isinstance(item, str):
            if "\x00" in item or not item.isascii():
                _check_text(f"{path}[{i}]", item)
        elif isinstance(item, _CONTAINERS):
            _walk(f"{path}[{i}]", item)
