"""The store's fast path: only on an SDK it was verified on; its codec writes and reads what the
SDK's own does; a store on it answers as one through the SDK does, whichever way that one's is off."""

from __future__ import annotations

import collections
import datetime
import logging
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from surrealdb import Duration, RecordID, Table
from surrealdb.data.cbor import decode as sdk_decode
from surrealdb.data.cbor import encode as sdk_encode

from vapora_core import surreal_engine
from vapora_core.errors import InvalidArgument
from vapora_core.settings import ServiceSettings
from vapora_core.store import Store

UTC = datetime.UTC
ADAPTER = "libs/core/src/vapora_core/surreal_engine.py"


def test_the_installed_sdk_is_one_the_fast_path_was_verified_on() -> None:
    installed = surreal_engine.sdk_version()
    assert installed in surreal_engine.VERIFIED_SDK_VERSIONS, (
        f"surrealdb {installed} is installed, but the store's fast path ({ADAPTER}) was verified on "
        f"{sorted(surreal_engine.VERIFIED_SDK_VERSIONS)} only, so every store now runs on the SDK's slower "
        "query_raw. To keep the fast path: check that AsyncEmbeddedSurrealConnection still keeps its engine in "
        f"{surreal_engine.ENGINE_ATTRIBUTE!r} and that surrealdb.data.cbor still has encode and tag_decoder; "
        "run this file (the byte-for-byte codec tests and the twin-store tests below) on the new SDK and fix "
        f"what fails; then add {installed!r} to VERIFIED_SDK_VERSIONS in {ADAPTER}."
    )


Row = collections.namedtuple("Row", "gone amount")
ROW = {
    "id": "t1",
    "workspace_id": "ws1",
    "attempt": 2,
    "score": 0.7235,
    "ok": True,
    "blob": bytes(range(256)),
    "at": datetime.datetime(2026, 11, 22, 3, 4, 5, 123456, tzinfo=UTC),
}

VALUES: list[Any] = [
    1,
    -5,
    2**40,
    2**70,
    1.5,
    0.1,
    True,
    "text",
    b"bytes",
    None,
    Decimal("1.50"),
    uuid.UUID(int=5),
    datetime.datetime(2026, 1, 2, 3, 4, 5),  # naive: written as UTC, as the SDK does
    ROW,
    [ROW, ROW],
    {"rows": [ROW, {**ROW, "gone": None}]},  # a None deep inside: SurrealDB's NONE, not null
    {"d": [Decimal("0.1"), (1, 2)]},
    {"ref": RecordID("assignment", "t1"), "refs": [RecordID("agent", 7), RecordID("x", ["a", 1])]},
    {"table": Table("assignment")},
    {"took": Duration.parse("1h30m")},  # a type only the SDK writes: the whole value goes through it
    {"id": "1", "method": "query", "params": ["SELECT * FROM t WHERE a = $a", {"a": None, "b": [1, None]}]},
    {"a": collections.OrderedDict(b=None)},  # a None inside a mapping of another class
    {"x": [Row(None, Decimal("1"))]},  # and inside a named tuple
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_writes_the_bytes_the_sdk_writes(value: Any) -> None:
    assert surreal_engine.encode(value) == sdk_encode(value)


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_reads_what_the_sdk_reads(value: Any) -> None:
    data = sdk_encode(value)
    assert surreal_engine.decode(data) == sdk_decode(data)


def test_none_is_surreals_none_not_null() -> None:
    assert surreal_engine.encode({"a": None}) == b"\xa1\x61\x61" + surreal_engine.TAG_NONE
    assert surreal_engine.encode([1, 2]) == b"\x82\x01\x02"  # no None anywhere: plain CBOR


def test_a_value_nobody_can_write_fails_as_the_sdk_fails() -> None:
    with pytest.raises(BufferError):
        sdk_encode({"x": object()})
    with pytest.raises(BufferError):
        surreal_engine.encode({"x": object()})


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("CREATE thing:a CONTENT $row", {"row": {**ROW, "id": None, "gone": None, "dec": Decimal("2.5")}}),
    ("SELECT * FROM thing", {}),
    ("RETURN [NONE, NULL, 1dec, 1.5, d'2026-11-22T00:00:00Z', 1h30m, u'0190d9d0-2c39-7a4b-8b7c-7f6b2c7b8d9e']", {}),
    ("RETURN [thing:a, type::thing('thing', ['x', 1]), <bytes>'ab']", {}),
    ("SELECT VALUE id FROM thing", {}),
    (
        "INSERT IGNORE INTO thing $rows RETURN VALUE workspace_id",
        {"rows": [{"id": "a"}, {"id": "b", "workspace_id": "w"}]},
    ),
    ("UPDATE thing:a SET attempt += 1 RETURN BEFORE", {}),
    ("RETURN $v", {"v": {"ref": RecordID("thing", "a"), "t": Table("thing")}}),
]


def _unverified_sdk(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(surreal_engine, "sdk_version", lambda: "99.0.0")
    return "surrealdb 99.0.0 is installed and the fast path was verified on 2.0.0 only"


def _engine_moved(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(surreal_engine, "ENGINE_ATTRIBUTE", "_engine_of_a_later_sdk")
    return "the embedded connection has no engine in '_engine_of_a_later_sdk'"


def _switched_off(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("VAPORA_STORE_FAST_PATH", "false")
    return ""  # by choice: nothing to warn about


FAST_PATH_OFF: dict[str, Callable[[pytest.MonkeyPatch], str]] = {
    "switched off": _switched_off,
    "unverified SDK": _unverified_sdk,
    "engine moved": _engine_moved,
}


@pytest.mark.parametrize("off", FAST_PATH_OFF.values(), ids=FAST_PATH_OFF.keys())
async def test_an_embedded_store_answers_as_it_does_through_the_sdk(
    store_url: str,
    off: Callable[[pytest.MonkeyPatch], str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each query run through the store's own codec, then the same query through the SDK on a
    twin store whose fast path is off (switched off, or off by itself, saying why): the same
    answers, NONE and NULL, record ids, datetimes, durations and all."""
    fast = Store(store_url, "fast")
    await fast.open()
    why = off(monkeypatch)
    twin = Store.from_settings(ServiceSettings(store_url=store_url.replace("store", "twin")), "twin")
    with caplog.at_level(logging.WARNING, logger="vapora.store"):
        await twin.open()
    try:
        assert fast.fast_path  # the embedded engine is spoken to directly
        assert not twin.fast_path  # the twin goes through the SDK
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == ([f"store fast path off: {why}; queries go through the SDK's query_raw"] if why else [])
        for sql, vars_ in QUERIES:
            got, want = await fast.execute(sql, vars_), await twin.execute(sql, vars_)
            assert got == want, sql
        row = await fast.one("SELECT * FROM thing:a")
        assert row is not None and "gone" not in row and row["dec"] == Decimal("2.5")  # None was NONE: no field
        # a parameter the engine cannot read (the SDK writes a Duration in a form this engine
        # refuses) is the caller's error, named, on both paths
        for store in (fast, twin):
            with pytest.raises(InvalidArgument, match="CBOR"):
                await store.execute("RETURN $v", {"v": Duration.parse("2s")})
    finally:
        await fast.close()
        await twin.close()


async def test_a_server_is_not_on_the_fast_path_and_nothing_is_said(caplog: pytest.LogCaptureFixture) -> None:
    """Not an embedded connection: no engine, and no warning (the SDK's path is the right one)."""
    with caplog.at_level(logging.WARNING, logger="vapora.store"):
        assert surreal_engine.embedded_engine(object()) is None
    assert caplog.records == []
