"""SurrealDB's CBOR, byte for byte as the SDK writes and reads it, with cbor2's compiled codec.

The SDK (``surrealdb`` 2.0.0) encodes each request and decodes each answer with a CBOR codec
written in Python: for an embedded store, most of a query's Python time. ``bench/bench_store.py``
prints the Python part of a stored assignment row both ways (``--sdk-codec``: through the SDK's).
:class:`~vapora_core.store.Store` talks to an embedded engine through this module instead; a
server (``ws://``) still goes through the SDK.

Values are written as the SDK writes them:

- ``None`` is SurrealDB's NONE (tag 6), not CBOR null; a ``Decimal`` is its decimal string
  (tag 10). cbor2 writes both natively otherwise, so a value holding either is written with
  type overrides (slower), and one holding neither (the usual case) without them.
- ``RecordID`` and ``Table`` are tags 8 and 7.
- Any other type cbor2 does not know (the SDK's own Datetime, Duration, geometries, ranges)
  makes the whole value go through the SDK's encoder.

Answers are read with the SDK's own tag decoder for SurrealDB's tags, given what each tag holds
as lists and dicts, as the SDK's decoder gives it (cbor2 gives tuples and frozen mappings).
``test_surreal_cbor.py`` holds both codecs to the same bytes and the same values.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, cast

import cbor2
from surrealdb.data.cbor import encode as sdk_encode
from surrealdb.data.cbor import tag_decoder
from surrealdb.data.types.record_id import RecordID
from surrealdb.data.types.table import Table

TAG_NONE = b"\xc6\xf6"  # tag 6 around null: SurrealDB's NONE
TAG_TABLE, TAG_RECORD_ID, TAG_DECIMAL = 7, 8, 10
_CONTAINERS = (list, tuple, set, frozenset)
_SCALARS = frozenset({str, int, float, bool, bytes})  # what holds neither None nor a Decimal


class _Foreign(Exception):
    """A value of a type only the SDK's encoder knows."""


def _default(encoder: Any, value: Any) -> None:
    if isinstance(value, RecordID):
        encoder.encode(cbor2.CBORTag(TAG_RECORD_ID, [value.table_name, value.id]))
    elif isinstance(value, Table):
        encoder.encode(cbor2.CBORTag(TAG_TABLE, value.table_name))
    else:
        raise _Foreign(type(value).__name__)


def _none(encoder: Any, _: None) -> None:
    encoder.write(TAG_NONE)


def _decimal(encoder: Any, value: Decimal) -> None:
    encoder.encode(cbor2.CBORTag(TAG_DECIMAL, str(value)))


_OVERRIDES: dict[type, Callable[[Any, Any], None]] = {type(None): _none, Decimal: _decimal}


def _needs_overrides(value: Any) -> bool:
    """Whether ``value`` holds a None or a Decimal anywhere (cbor2 would write them its own way),
    looking into every mapping, list, tuple and set, of any class."""
    if value is None or isinstance(value, Decimal):
        return True
    if isinstance(value, Mapping):
        items: Any = value.values()
    elif isinstance(value, _CONTAINERS):
        items = value
    else:
        return False
    return any(type(item) not in _SCALARS and _needs_overrides(item) for item in items)


def encode(value: Any) -> bytes:
    """``value`` as SurrealDB's CBOR: the bytes the SDK's encoder writes."""
    try:
        if not _needs_overrides(value):
            return cbor2.dumps(value, default=_default, timezone=datetime.UTC)
        return cbor2.dumps(value, default=_default, encoders=_OVERRIDES, timezone=datetime.UTC)
    except (cbor2.CBOREncodeError, _Foreign):
        return sdk_encode(value)  # a type only the SDK knows, or one nobody can encode (its error)


def _thawed(value: Any) -> Any:
    """cbor2 reads what a tag holds as tuples and frozen mappings; the SDK as lists and dicts."""
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    return value


def _tag(tag: cbor2.CBORTag, _immutable: bool) -> Any:
    if isinstance(tag.value, tuple | Mapping):
        tag = cbor2.CBORTag(tag.tag, _thawed(tag.value))
    # the SDK's tag decoder reads only the tag's number and value, never its decoder argument
    return tag_decoder(cast(Any, None), cast(Any, tag))


def decode(data: bytes) -> Any:
    """SurrealDB's CBOR ``data`` as the SDK's decoder reads it."""
    return cbor2.loads(data, tag_hook=_tag)
