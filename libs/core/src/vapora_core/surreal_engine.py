"""The store's fast path to an embedded SurrealDB engine: the one module that reaches into the SDK.

The SDK (``surrealdb``) encodes each request and decodes each answer with a CBOR codec written in
Python: for an embedded store, most of a query's Python time. This module speaks to the embedded
engine directly, with cbor2's compiled codec writing and reading the same CBOR as the SDK's.
``bench/bench_store.py`` prints the Python part of a stored row both ways (``--sdk-codec``).

It relies on two things the SDK does not promise, so nothing else in Vapora touches them:

- the embedded connection keeps its engine (the Rust extension's ``AsyncEmbeddedDB``) in the
  attribute :data:`ENGINE_ATTRIBUTE`, whose ``execute`` takes a CBOR request and returns a future of
  the CBOR answer;
- the SDK's own CBOR module (``surrealdb.data.cbor``): its encoder, for the types only it knows,
  and its tag decoder, for SurrealDB's tags in answers.

Both were verified on the SDK versions in :data:`VERIFIED_SDK_VERSIONS`. :func:`embedded_engine`
gives the fast path only on one of them and only when the attribute is there; otherwise it logs
one WARNING saying why and gives None, and the store uses the SDK's public ``query_raw``.
``test_surreal_engine.py`` fails on any other installed version, saying what to re-verify.

Values are written as the SDK writes them:

- ``None`` is SurrealDB's NONE (tag 6), not CBOR null; a ``Decimal`` is its decimal string
  (tag 10). cbor2 writes both natively otherwise, so a value holding either is written with
  type overrides (slower), and one holding neither (the usual case) without them.
- ``RecordID`` and ``Table`` are tags 8 and 7.
- Any other type cbor2 does not know (the SDK's own Datetime, Duration, geometries, ranges)
  makes the whole value go through the SDK's encoder.

Answers are read with the SDK's own tag decoder for SurrealDB's tags, given what each tag holds
as lists and dicts, as the SDK's decoder gives it (cbor2 gives tuples and frozen mappings).
``test_surreal_engine.py`` holds both codecs to the same bytes and the same values.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib.metadata
import itertools
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, cast

import cbor2
from surrealdb import AsyncEmbeddedSurrealConnection, RecordID, Table

try:
    from surrealdb.data.cbor import encode as sdk_encode
    from surrealdb.data.cbor import tag_decoder as sdk_tag_decoder

    _SDK_CBOR_MISSING = ""
except ImportError as exc:  # an SDK that moved its codec: no fast path (see _why_not)
    _SDK_CBOR_MISSING = f"the SDK's CBOR module is not where it was ({exc})"

log = logging.getLogger("vapora.store")

VERIFIED_SDK_VERSIONS = frozenset({"2.0.0"})
"""``surrealdb`` versions this module was verified on: ``test_surreal_engine.py`` passes (the
byte-for-byte codec tests and the twin-store test) and the engine is where :data:`ENGINE_ATTRIBUTE`
says. Add a version here only after running those tests on it."""

ENGINE_ATTRIBUTE = "_db"
"""Where ``AsyncEmbeddedSurrealConnection`` keeps its engine."""

TAG_NONE = b"\xc6\xf6"  # tag 6 around null: SurrealDB's NONE
TAG_TABLE, TAG_RECORD_ID, TAG_DECIMAL = 7, 8, 10
_CONTAINERS = (list, tuple, set, frozenset)
_SCALARS = frozenset({str, int, float, bool, bytes})  # what holds neither None nor a Decimal


def sdk_version() -> str:
    """The installed ``surrealdb`` version."""
    return importlib.metadata.version("surrealdb")


class EmbeddedEngine:
    """An embedded engine, sent the query requests the SDK would send it, in this module's codec."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._requests = itertools.count(1)

    def send(self, sql: str, vars: dict[str, Any]) -> asyncio.Future[bytes]:
        """Start one query; the engine's future of its CBOR answer (read it with :meth:`answer`)."""
        request = {"id": str(next(self._requests)), "method": "query", "params": [sql, vars]}
        return cast("asyncio.Future[bytes]", asyncio.ensure_future(self._engine.execute(encode(request))))

    @staticmethod
    def answer(data: bytes) -> dict[str, Any]:
        """The engine's answer, as the SDK's ``query_raw`` gives it."""
        answer = decode(data)
        return answer if isinstance(answer, dict) else {}


def _why_not(connection: AsyncEmbeddedSurrealConnection) -> str | None:
    version = sdk_version()
    if version not in VERIFIED_SDK_VERSIONS:
        verified = ", ".join(sorted(VERIFIED_SDK_VERSIONS))
        return f"surrealdb {version} is installed and the fast path was verified on {verified} only"
    if _SDK_CBOR_MISSING:
        return _SDK_CBOR_MISSING
    engine = getattr(connection, ENGINE_ATTRIBUTE, None)
    if not callable(getattr(engine, "execute", None)):
        return f"the embedded connection has no engine in {ENGINE_ATTRIBUTE!r}"
    return None


def embedded_engine(connection: object) -> EmbeddedEngine | None:
    """The fast path to ``connection``'s embedded engine, or None: for a connection to a server
    (the SDK's own path, nothing to say), or when the fast path cannot be trusted with the
    installed SDK (one WARNING saying why)."""
    if not isinstance(connection, AsyncEmbeddedSurrealConnection):
        return None
    problem = _why_not(connection)
    if problem is not None:
        log.warning("store fast path off: %s; queries go through the SDK's query_raw", problem)
        return None
    return EmbeddedEngine(getattr(connection, ENGINE_ATTRIBUTE))


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
        # a type only the SDK knows, or one nobody can encode (then the SDK's error)
        return sdk_encode(value)


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
    return sdk_tag_decoder(cast(Any, None), cast(Any, tag))


def decode(data: bytes) -> Any:
    """SurrealDB's CBOR ``data`` as the SDK's decoder reads it."""
    return cbor2.loads(data, tag_hook=_tag)
