"""Group commit of first assignments against the real embedded SurrealDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from vapora_core.store import Store
from vapora_swarm_coordinator.batching import GroupCommit
from vapora_swarm_coordinator.repository import SCHEMA, AssignmentRepository, Holder, Write


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """The coordinator's store (its schema applied) on the embedded engine, closed after the test."""
    opened = Store(store_url, "coordinator")
    await opened.open(SCHEMA)
    try:
        yield opened
    finally:
        await opened.close()


def row(task_id: str, agent: str = "a1") -> dict[str, object]:
    return {
        "task_id": task_id,
        "workspace_id": "ws1",
        "task_type": "testing",
        "agent_id": agent,
        "state": "assigned",
        "attempt": 1,
    }


async def test_concurrent_creates_share_a_round_trip_and_each_task_is_created_exactly_once(store: Store) -> None:
    repo = AssignmentRepository(store)
    assert await repo.create(row("old", "a0"))
    commits = GroupCommit(repo)
    calls = 0
    write_each = repo.write_each

    async def counted(items: list[Write]) -> list[bool | Holder | None]:
        nonlocal calls
        calls += 1
        return await write_each(items)

    repo.write_each = counted  # type: ignore[method-assign]
    got = await asyncio.gather(
        *(commits.create(row(f"t{i}")) for i in range(50)),
        commits.create(row("t7", "a2")),  # the same task twice at once: only the first row is stored
        commits.create(row("old", "a3")),  # already assigned: not created again
    )
    assert got == [True] * 50 + [False, False]
    assert calls < 10
    stored = {r["task_id"]: r["agent_id"] for r in await store.query("SELECT task_id, agent_id FROM assignment")}
    assert len(stored) == 51
    assert stored["t7"] == "a1"
    assert stored["old"] == "a0"


async def test_a_row_the_store_refuses_fails_only_its_own_task(store: Store) -> None:
    commits = GroupCommit(AssignmentRepository(store))
    bad = {**row("bad"), "attempt": object()}  # cannot be encoded for the store
    results = await asyncio.gather(
        commits.create(row("g1")), commits.create(bad), commits.create(row("g2")), return_exceptions=True
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], Exception)
    ids = {r["task_id"] for r in await store.query("SELECT task_id FROM assignment")}
    assert ids == {"g1", "g2"}


async def test_rows_submitted_together_each_get_their_own_outcome(store: Store) -> None:
    repo = AssignmentRepository(store)
    assert await repo.create(row("held"))
    commits = GroupCommit(repo)
    bad = {**row("bad"), "attempt": object()}
    got = await commits.create_many([row("m1"), bad, row("held", "a9"), row("m2")])
    assert got[0] is True and got[2] is False and got[3] is True
    assert isinstance(got[1], Exception)
    ids = {r["task_id"] for r in await store.query("SELECT task_id FROM assignment")}
    assert ids == {"held", "m1", "m2"}


async def test_batched_finishes_apply_only_where_the_named_job_still_holds_the_task(store: Store) -> None:
    repo = AssignmentRepository(store)
    for i in range(3):
        assert await repo.create({**row(f"f{i}"), "job_id": f"job-f{i}-1"})
    commits = GroupCommit(repo)
    done = {"state": "done", "execution_id": "ex"}
    got = await asyncio.gather(
        commits.finish("f0", "job-f0-1", done),
        commits.finish("f1", "job-f1-0", done),  # an older job: not applied
        commits.finish("f2", "job-f2-1", done),
        commits.finish("f2", "job-f2-1", done),  # the same execution twice: applied once
        commits.finish("nope", "job-nope-1", done),  # no such task
    )
    held = Holder(agent_id="a1", workspace_id="ws1", task_type="testing")
    assert got == [held, None, held, None, None]
    states = {r["task_id"]: r["state"] for r in await store.query("SELECT task_id, state FROM assignment")}
    assert states == {"f0": "done", "f1": "assigned", "f2": "done"}


def _sample(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": kind}) or 0.0


async def test_every_round_trip_is_measured_by_kind_with_the_items_it_carried(store: Store) -> None:
    before = {
        (name, kind): _sample(name, kind)
        for name in ("vapora_coordinator_store_write_seconds_count", "vapora_coordinator_store_batch_items_sum")
        for kind in ("create", "finish")
    }
    commits = GroupCommit(AssignmentRepository(store), finish_linger_s=0.0)
    assert all(await asyncio.gather(*(commits.create({**row(f"m{i}"), "job_id": f"job-m{i}-1"}) for i in range(5))))
    done = {"state": "done", "execution_id": "ex"}
    await asyncio.gather(*(commits.finish(f"m{i}", f"job-m{i}-1", done) for i in range(3)))

    def grew(name: str, kind: str) -> float:
        return _sample(name, kind) - before[(name, kind)]

    assert grew("vapora_coordinator_store_batch_items_sum", "create") == 5
    assert grew("vapora_coordinator_store_batch_items_sum", "finish") == 3
    assert 1 <= grew("vapora_coordinator_store_write_seconds_count", "create") <= 5
    assert 1 <= grew("vapora_coordinator_store_write_seconds_count", "finish") <= 3
