"""What a protobuf message may hold when it comes in at an edge (a gRPC request, a bus event).

:func:`check_message` walks every field, nested messages and maps included, and raises
:class:`~vapora_core.errors.InvalidArgument` naming the first field that breaks a rule, by its
path (``agent.capabilities[3].task_type``), and the rule:

- a string holds no NUL character (SurrealDB cannot keep one: :mod:`vapora_core.store_guard`);
- a float or double is finite (NaN and ±inf are not numbers JSON can carry);
- an enum holds one of its declared values;
- a ``google.protobuf.Timestamp`` lies within ``Rules.earliest_s`` .. ``Rules.latest_s``;
- a number with ``Rules.bounds`` for its field (by full name) lies within them, ends included;
- with :class:`Limits`: an id (a field named ``id``, ``*_id`` or ``*_ids``) has at most
  ``id_bytes`` bytes, any other string or bytes field ``string_bytes``, a repeated or map field
  ``items`` entries; ``fields`` overrides either for one field, by its full name
  (``vapora.agents.v1.Agent.system_prompt``).

Protobuf refuses invalid UTF-8 (so lone surrogates) when it parses a message: a string field
can hold every Unicode character but U+0000 here.

It runs on every event a consumer takes, so each message type's fields are sorted once into a
plan (booleans need no check and are skipped). Without limits (the bus's case) a first pass
takes each kind of field of a message at once (every string in one ``attrgetter``, one search
for U+0000 in them all); only a message it cannot pass is walked field by field, to name the
field that breaks a rule.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from vapora_core.errors import InvalidArgument

TIMESTAMP = "google.protobuf.Timestamp"
# The range protobuf's Timestamp is defined for: 0001-01-01 .. 9999-12-31.
TIMESTAMP_MIN_S = -62_135_596_800
TIMESTAMP_MAX_S = 253_402_300_799

_TEXT, _BYTES, _FLOAT, _INT, _ENUM, _MESSAGE, _MAP, _OTHER = range(8)
_INTS = (
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64,
)
_KINDS = {
    **dict.fromkeys(_INTS, _INT),
    FieldDescriptor.TYPE_STRING: _TEXT,
    FieldDescriptor.TYPE_BYTES: _BYTES,
    FieldDescriptor.TYPE_DOUBLE: _FLOAT,
    FieldDescriptor.TYPE_FLOAT: _FLOAT,
    FieldDescriptor.TYPE_ENUM: _ENUM,
    FieldDescriptor.TYPE_MESSAGE: _MESSAGE,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Sizes a request may have; checked before any work starts."""

    id_bytes: int = 256
    string_bytes: int = 1 << 20
    items: int = 1000
    fields: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """What :func:`check_message` checks: sizes (optional), the window timestamps must lie in, and
    the range of numbers by their field's full name (``vapora.kg.v1.ExecutionRecorded.quality``)."""

    limits: Limits | None = None
    earliest_s: float = TIMESTAMP_MIN_S
    latest_s: float = TIMESTAMP_MAX_S
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)


class _Broken(Exception):
    """A rule broken somewhere below; each level on the way up adds its part of the path."""

    def __init__(self, part: str, why: str) -> None:
        self.parts = [part]
        self.why = why


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    full_name: str
    kind: int
    repeated: bool
    is_id: bool
    enum_values: frozenset[int] = frozenset()
    key: _Field | None = None  # a map's key and value
    value: _Field | None = None


@dataclass(frozen=True, slots=True)
class _Kinds:
    """One message type's fields by what the first pass does with them."""

    texts: Callable[[Any], tuple[str, ...]] | None
    floats: Callable[[Any], tuple[float, ...]] | None
    numbers: tuple[tuple[str, str], ...]  # (name, full name) of fields a range may apply to
    enums: tuple[tuple[str, frozenset[int]], ...]
    messages: tuple[str, ...]
    repeated: tuple[_Field, ...]


def check_message(message: Message, rules: Rules) -> None:
    """Raise :class:`InvalidArgument` naming the first field of ``message`` that breaks ``rules``."""
    if rules.limits is None and _passes(message, rules):
        return
    try:
        _message(message, rules)
    except _Broken as broken:
        path = "".join(reversed(broken.parts)).lstrip(".")
        raise InvalidArgument(f"{path or message.DESCRIPTOR.name} {broken.why}") from None


def _message(message: Message, rules: Rules) -> None:
    descriptor = message.DESCRIPTOR
    if descriptor.full_name == TIMESTAMP:
        _time(message, rules)
        return
    for f in _plan(descriptor):
        value = getattr(message, f.name)
        try:
            if f.repeated:
                if value:
                    _repeated(f, value, rules)
            elif f.kind == _MESSAGE:
                if message.HasField(f.name):
                    _message(value, rules)
            elif value:
                _value(f, value, rules)
        except _Broken as broken:
            broken.parts.append("." + f.name)
            raise


def _repeated(f: _Field, values: Any, rules: Rules) -> None:
    limits = rules.limits
    if limits is not None:
        most = limits.fields.get(f.full_name, limits.items)
        if len(values) > most:
            raise _Broken("", f"has {len(values)} items; at most {most} are allowed")
    if f.kind == _MAP:
        assert f.key is not None and f.value is not None
        for key in values:
            try:
                _value(f.key, key, rules)
            except _Broken as broken:
                raise _Broken(" (a key)", broken.why) from None
            try:
                _value(f.value, values[key], rules)
            except _Broken as broken:
                broken.parts.append(f"[{key!r:.40}]")
                raise
        return
    for i, item in enumerate(values):
        try:
            _value(f, item, rules)
        except _Broken as broken:
            broken.parts.append(f"[{i}]")
            raise


def _value(f: _Field, value: Any, rules: Rules) -> None:
    kind = f.kind
    if kind == _TEXT:
        if "\x00" in value:
            raise _Broken("", "holds a NUL character (U+0000)")
        if rules.limits is not None and len(value) * 4 > _most(f, rules.limits):
            _size(f, len(value.encode()), rules.limits)
    elif kind == _MESSAGE:
        _message(value, rules)
    elif kind in (_FLOAT, _INT):
        if kind == _FLOAT and not math.isfinite(value):
            raise _Broken("", f"must be a finite number, got {value}")
        if rules.bounds:
            span = rules.bounds.get(f.full_name)
            if span is not None and not span[0] <= value <= span[1]:
                raise _Broken("", f"must be within [{span[0]:g}, {span[1]:g}], got {value}")
    elif kind == _ENUM:
        if value not in f.enum_values:
            raise _Broken("", f"is {value}, not a value of its enum")
    elif kind == _BYTES and rules.limits is not None:
        _size(f, len(value), rules.limits)


def _most(f: _Field, limits: Limits) -> int:
    most = limits.fields.get(f.full_name)
    if most is None:
        most = limits.id_bytes if f.is_id else limits.string_bytes
    return most


def _size(f: _Field, size: int, limits: Limits) -> None:
    most = _most(f, limits)
    if size > most:
        raise _Broken("", f"has {size} bytes; at most {most} are allowed")


def _time(ts: Any, rules: Rules) -> None:
    seconds, nanos = ts.seconds, ts.nanos
    if not 0 <= nanos < 1_000_000_000:
        raise _Broken("", f"has nanos {nanos}, outside [0, 999999999]")
    at = seconds + nanos / 1e9
    if at < rules.earliest_s or at > rules.latest_s:
        raise _Broken("", f"is {_when(at)}, outside the accepted {_when(rules.earliest_s)} .. {_when(rules.latest_s)}")


def _when(seconds: float) -> str:
    try:
        return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:.0f} s after the epoch"


def _passes(message: Any, rules: Rules) -> bool:
    """True when ``message`` breaks no rule; False when it may (then :func:`_message` says where)."""
    if message.DESCRIPTOR.full_name == TIMESTAMP:
        try:
            _time(message, rules)
        except _Broken:
            return False
        return True
    kinds = _kinds(message.DESCRIPTOR)
    if kinds.texts is not None and "\x00" in "".join(kinds.texts(message)):
        return False
    if kinds.floats is not None and not all(map(math.isfinite, kinds.floats(message))):
        return False
    bounds = rules.bounds
    if bounds:
        for name, full_name in kinds.numbers:
            span = bounds.get(full_name)
            if span is not None and not span[0] <= getattr(message, name) <= span[1]:
                return False
    for name, values in kinds.enums:
        if getattr(message, name) not in values:
            return False
    for name in kinds.messages:
        if message.HasField(name) and not _passes(getattr(message, name), rules):
            return False
    for f in kinds.repeated:
        values = getattr(message, f.name)
        if values:
            try:
                _repeated(f, values, rules)
            except _Broken:
                return False
    return True


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]] | None:
    """A function giving the values of ``names`` of a message as one tuple (None: no names)."""
    if not names:
        return None
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda message: (one(message),)
    return operator.attrgetter(*names)


@functools.cache
def _kinds(descriptor: Descriptor) -> _Kinds:
    singular = [f for f in _plan(descriptor) if not f.repeated]
    return _Kinds(
        texts=_getter([f.name for f in singular if f.kind == _TEXT]),
        floats=_getter([f.name for f in singular if f.kind == _FLOAT]),
        numbers=tuple((f.name, f.full_name) for f in singular if f.kind in (_FLOAT, _INT)),
        enums=tuple((f.name, f.enum_values) for f in singular if f.kind == _ENUM),
        messages=tuple(f.name for f in singular if f.kind == _MESSAGE),
        repeated=tuple(f for f in _plan(descriptor) if f.repeated),
    )


@functools.cache
def _plan(descriptor: Descriptor) -> tuple[_Field, ...]:
    """The fields of ``descriptor`` that may break a rule (booleans cannot)."""
    return tuple(f for f in (_field(fd) for fd in descriptor.fields) if f is not None)


def _field(fd: FieldDescriptor) -> _Field | None:
    kind = _KINDS.get(fd.type)
    if kind is None:
        return None
    is_id = fd.name == "id" or fd.name.endswith(("_id", "_ids"))
    entry = fd.message_type
    if kind == _MESSAGE and entry is not None and entry.GetOptions().map_entry:
        key = _field(entry.fields_by_name["key"])
        value = _field(entry.fields_by_name["value"])
        plain = _Field(fd.name, fd.full_name, _OTHER, repeated=False, is_id=False)  # nothing to check
        return _Field(fd.name, fd.full_name, _MAP, True, is_id, key=key or plain, value=value or plain)
    values = frozenset(fd.enum_type.values_by_number) if fd.enum_type is not None else frozenset()
    return _Field(fd.name, fd.full_name, kind, fd.is_repeated, is_id, enum_values=values)
