"""The store against the real embedded SurrealDB engine."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vapora_core.errors import InvalidArgument, StoreLocked, Unavailable
from vapora_core.settings import ServiceSettings
from vapora_core.store import Store


async def test_schema_is_applied_and_rows_round_trip(store_url: str) -> None:
    s = Store(store_url, "svc")
    await s.open(
        [
            "DEFINE TABLE IF NOT EXISTS thing SCHEMAFULL; "
            "DEFINE FIELD IF NOT EXISTS workspace ON thing TYPE string;"
            "DEFINE FIELD IF NOT EXISTS n ON thing TYPE int;"
        ]
    )
    try:
        await s.execute("CREATE thing:a SET workspace = $w, n = 1", {"w": "ws1"})
        rows = await s.query("SELECT * FROM thing WHERE workspace = $w", {"w": "ws1"})
        assert rows == [{"id": "a", "workspace": "ws1", "n": 1}]
        with pytest.raises(InvalidArgument, match="n"):
            await s.execute("CREATE thing:b SET workspace = 'ws1', n = 'not a number'")
    finally:
        await s.close()


async def test_data_survives_reopening(store_url: str) -> None:
    s = Store(store_url, "svc")
    await s.open()
    await s.execute("CREATE thing:keep SET v = 42")
    await s.close()
    s2 = Store(store_url, "svc")
    await s2.open()
    try:
        assert await s2.one("SELECT v FROM thing:keep") == {"v": 42}
    finally:
        await s2.close()


async def test_namespaces_do_not_see_each_other(store_url: str) -> None:
    a = Store(store_url, "a")
    await a.open()
    await a.execute("CREATE thing:x SET v = 1")
    await a.close()
    b = Store(store_url, "b")
    await b.open()
    try:
        assert await b.query("SELECT * FROM thing") == []
    finally:
        await b.close()


async def test_second_process_opening_the_same_store_fails_clearly(store_url: str, tmp_path: Path) -> None:
    s = Store(store_url, "svc")
    await s.open()
    try:
        script = textwrap.dedent(f"""
            import asyncio
            from vapora_core.store import Store
            asyncio.run(Store({store_url!r}, "svc").open())
        """)
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0
        assert "is already open in another process" in proc.stderr
        assert "StoreLocked" in proc.stderr
    finally:
        await s.close()


async def test_same_process_cannot_open_twice_either(store_url: str) -> None:
    s = Store(store_url, "svc")
    await s.open()
    try:
        with pytest.raises(StoreLocked, match="pid"):
            await Store(store_url, "svc").open()
    finally:
        await s.close()
    again = Store(store_url, "svc")
    await again.open()
    await again.close()


async def test_a_statement_that_does_not_parse_is_an_invalid_argument(store: Store) -> None:
    with pytest.raises(InvalidArgument, match="Parse error"):
        await store.execute("SELECT * FROM thing WHERE ;")


async def test_a_cancelled_caller_does_not_abandon_its_query_and_close_waits_for_it(store_url: str) -> None:
    s = Store(store_url, "svc")
    await s.open()
    caller = asyncio.ensure_future(s.execute("SLEEP 300ms; CREATE task:slow SET done = true"))
    await asyncio.sleep(0.05)
    caller.cancel()
    assert s.in_flight == 1
    await s.close()  # waits for the query instead of closing the engine under it
    assert s.in_flight == 0
    s2 = Store(store_url, "svc")
    await s2.open()
    assert await s2.one("SELECT done FROM task:slow") == {"done": True}
    await s2.close()


async def test_close_refuses_new_queries_while_it_waits_for_those_in_flight(store_url: str) -> None:
    s = Store(store_url, "svc")
    await s.open()
    slow = asyncio.ensure_future(s.execute("SLEEP 300ms; CREATE task:slow SET done = true"))
    await asyncio.sleep(0.05)
    closing = asyncio.ensure_future(s.close())
    await asyncio.sleep(0)
    assert not closing.done() and s.in_flight == 1
    with pytest.raises(Unavailable, match="store svc is not open"):
        await s.execute("CREATE task:late SET done = true")
    await closing
    assert (await slow)[-1] == [{"id": "slow", "done": True}]
    s2 = Store(store_url, "svc")
    await s2.open()
    assert await s2.query("SELECT VALUE id FROM task") == ["slow"]
    await s2.close()


async def test_close_waits_the_shutdown_grace_at_most_and_says_what_it_left(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = Store.from_settings(ServiceSettings(store_url=store_url, shutdown_grace_s=0.05), "svc")
    await s.open()
    slow = asyncio.ensure_future(s.execute("SLEEP 1s; RETURN 'done'"))
    await asyncio.sleep(0.05)
    with caplog.at_level(logging.INFO, logger="vapora.store"):
        await s.close()
    assert [r.getMessage() for r in caplog.records] == [
        "waiting for 1 store queries in flight before closing",
        "1 store queries still running after 0.05 s; closing anyway",
    ]
    assert s.in_flight == 1 and not s.is_open
    assert (await slow)[-1] == "done"  # the query was left to finish, not cut off
    assert s.in_flight == 0
