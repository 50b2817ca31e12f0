"""Batched task inserts: one statement for many rows, one bad row fails alone, close writes what it took."""

from __future__ import annotations

import asyncio

import pytest

from vapora_api_gateway.repository import SCHEMA, Repository
from vapora_core.errors import AlreadyExists, Unavailable
from vapora_core.store import Store


@pytest.fixture
async def tstore(store_url: str):
    s = Store(store_url, "gateway")
    await s.open(SCHEMA)
    yield s
    await s.close()


async def test_concurrent_inserts_share_one_statement(tstore: Store):
    statements: list[str] = []
    real = Store.execute

    async def counting(sql, vars=None, **kw):
        statements.append(sql)
        return await real(tstore, sql, vars, **kw)

    tstore.execute = counting  # type: ignore[method-assign]
    batcher = Repository(tstore).task_writer
    await asyncio.gather(*(batcher.submit({"id": f"t{n}", "workspace_id": "w", "n": n}) for n in range(50)))
    assert statements == ["INSERT INTO task $rows RETURN NONE"]
    rows = await tstore.query("SELECT n FROM task ORDER BY n")
    assert [r["n"] for r in rows] == list(range(50))


async def test_one_bad_row_fails_alone(tstore: Store):
    batcher = Repository(tstore).task_writer
    await batcher.submit({"id": "dup", "n": 0})
    results = await asyncio.gather(
        *(batcher.submit({"id": i, "n": 1}) for i in ("a", "dup", "b")), return_exceptions=True
    )
    assert results[0] is None and results[2] is None and isinstance(results[1], AlreadyExists)
    assert len(await tstore.query("SELECT * FROM task")) == 3


async def test_close_writes_what_was_taken_then_refuses(tstore: Store):
    batcher = Repository(tstore).task_writer
    pending = [asyncio.ensure_future(batcher.submit({"id": f"t{n}"})) for n in range(10)]
    await asyncio.sleep(0)
    await batcher.close()
    await asyncio.gather(*pending)
    assert len(await tstore.query("SELECT * FROM task")) == 10
    with pytest.raises(Unavailable):
        await batcher.submit({"id": "late"})
