"""A board column (the task list of one state) is a range of the ``task_board`` index: the same
tasks in the same order, page by page, as sorting the workspace's tasks of that state by
``created_ns DESC, tid DESC``, whatever the ties, the cursor, the other filters, and however the
tasks moved between states."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora_api_gateway.repository import NAMESPACE, SCHEMA, Repository
from vapora_api_gateway.service import RANK
from vapora_api_gateway.task_order import order_key
from vapora_core.store import Store

STATES = ("submitted", "assigned", "running", "done", "failed", "cancelled")
T0 = 1_790_000_000_000_000_000


@pytest.fixture
async def repo(store_url: str) -> AsyncIterator[Repository]:
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    try:
        yield Repository(store)
    finally:
        await store.close()


def _row(ws: str, created_ns: int, tid: str, priority: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "tid": tid,
        "workspace_id": ws,
        "title": "t",
        "priority": priority,
        "state": "submitted",
        "rank": RANK["submitted"],
        "created_ns": created_ns,
        "order_key": order_key(created_ns, tid),
        "history": [],
    }


def _expected(rows: list[dict[str, Any]], ws: str, state: str, priority: str = "") -> list[str]:
    chosen = [r for r in rows if r["workspace_id"] == ws and r["state"] == state]
    chosen = [r for r in chosen if not priority or r["priority"] == priority]
    return [r["id"] for r in sorted(chosen, key=lambda r: (r["created_ns"], r["tid"]), reverse=True)]


async def _walk(repo: Repository, ws: str, filters: dict[str, str], limit: int) -> list[str]:
    """Every page of the list, following the cursor the way the API does (limit + 1 read)."""
    seen: list[str] = []
    cursor: tuple[int, str] | None = None
    while True:
        rows = await repo.tasks(ws, filters, cursor, limit + 1)
        seen += [str(r["id"]) for r in rows[:limit]]
        if len(rows) <= limit:
            return seen
        cursor = (int(rows[limit - 1]["created_ns"]), str(rows[limit - 1]["tid"]))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32), limit=st.integers(min_value=1, max_value=7))
async def test_every_column_pages_in_list_order_after_tasks_move(repo: Repository, seed: int, limit: int) -> None:
    """40 tasks in two workspaces, created at few distinct instants (so ties on created_ns are
    common and the tid decides), moved on by status changes, some twice."""
    rnd = random.Random(seed)
    ws, other = f"ws-{seed}-{limit}", f"wo-{seed}-{limit}"
    rows = [
        _row(rnd.choice((ws, ws, other)), T0 + rnd.randrange(6), f"{rnd.getrandbits(128):032x}", rnd.choice("ab"))
        for _ in range(40)
    ]
    await asyncio.gather(*(repo.create_task(r) for r in rows))
    for n, row in enumerate(rows):
        for state in sorted(rnd.sample(STATES[1:], rnd.randrange(3)), key=STATES.index):
            moved = await repo.apply_status(row["id"], RANK[state], T0 + n + 1000 * RANK[state], {"state": state}, {})
            if moved is not None:
                row["state"] = state
    for state in STATES:
        assert await _walk(repo, ws, {"state": state}, limit) == _expected(rows, ws, state), state
        assert await _walk(repo, ws, {"state": state, "priority": "a"}, limit) == _expected(rows, ws, state, "a")
    assert sorted(await _walk(repo, other, {}, 100)) == sorted(r["id"] for r in rows if r["workspace_id"] == other)


async def test_a_cursor_with_a_short_tid_selects_what_the_comparison_of_strings_does(repo: Repository) -> None:
    """The API takes any ``<ns>.<1 to 32 hex digits>`` as a position: ``tid < "a"`` keeps the tids
    starting below "a" and none starting with "a" (those are longer, so greater)."""
    tids = ["9" * 32, "a" * 32, "a0" + "0" * 30, "b" * 32]
    rows = [_row("ws-c", T0, tid, "a") for tid in tids]
    await asyncio.gather(*(repo.create_task(r) for r in rows))
    for cid in ("a", "a0", "9f", "0", "f"):
        got = [str(r["tid"]) for r in await repo.tasks("ws-c", {"state": "submitted"}, (T0, cid), 10)]
        assert got == sorted((t for t in tids if t < cid), reverse=True), cid
    assert await repo.tasks("ws-c", {"state": "submitted"}, (T0 + 1, "0"), 10) != []
    assert await repo.tasks("ws-c", {"state": "submitted"}, (T0, "0"), 10) == []
