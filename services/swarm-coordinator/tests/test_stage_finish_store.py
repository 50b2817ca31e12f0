"""A stage task's finish written in the transaction of its stage's transition
(workflows/repository.py, ``Write.finishes``), on the real embedded SurrealDB: the transition is
stored only if every finish it carries applied, a finish applies only while its job (and agent)
holds the task, each write of a batch is guarded on its own, and a fenced writer writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from test_workflow_store import started

from vapora_core.store import Store
from vapora_swarm_coordinator.lease import LeaseLost
from vapora_swarm_coordinator.repository import NAMESPACE, AssignmentRepository, Finish, Holder
from vapora_swarm_coordinator.repository import SCHEMA as ASSIGNMENT_SCHEMA
from vapora_swarm_coordinator.workflows import transitions
from vapora_swarm_coordinator.workflows.draft import Draft, Outcome
from vapora_swarm_coordinator.workflows.model import Run
from vapora_swarm_coordinator.workflows.repository import SCHEMA, WorkflowRepository, Write, Written

DONE = {"state": "done", "execution_id": "ex-1", "provider": "", "model": "", "finished_s": 1001.0, "error": ""}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"surrealkv://{tmp_path / 'coordinator'}", NAMESPACE)
    await store.open((*ASSIGNMENT_SCHEMA, *SCHEMA))
    try:
        yield store
    finally:
        await store.close()


async def held(store: Store, run_id: str) -> Run:
    """A run whose first stage's task is held by job ``job-<task>-1`` of agent ``a1``."""
    run = started(run_id)
    assert await WorkflowRepository(store).create(run)
    task_id = run.stages["build"].task_id
    row = {
        "task_id": task_id,
        "workspace_id": "ws1",
        "task_type": "coding",
        "agent_id": "a1",
        "job_id": f"job-{task_id}-1",
        "attempt": 1,
        "state": "assigned",
        "assigned_s": 1000.0,
        "workflow_run_id": run_id,
        "stage_id": "build",
    }
    assert await AssignmentRepository(store).create(row)
    return run


def built(run: Run, *, job: str = "", agent: str = "a1", seen: int | None = None) -> Write:
    """The transition of the build stage done, carrying the finish of its task by ``job``."""
    task_id = run.stages["build"].task_id
    draft = Draft.of(run, 1001.0)
    transitions.outcome(draft, Outcome(stage_id="build", task_id=task_id, success=True, agent_id=agent, result="ok"))
    finish = Finish(task_id, job or f"job-{task_id}-1", DONE, agent_id=agent)
    version = run.version if seen is None else seen
    return Write(version, draft.stamped(), draft.stage_changes, tuple(draft.decisions), (finish,))


async def state_of(store: Store, run: Run) -> tuple[str, str, int]:
    """(the build task's assignment state, the build stage's state, the run's version) as stored."""
    stored = await WorkflowRepository(store).read(run.id)
    row = await AssignmentRepository(store).get(run.stages["build"].task_id)
    assert stored is not None and row is not None
    return str(row["state"]), stored.stages["build"].state, stored.version


async def test_a_transition_and_the_finish_it_carries_are_stored_in_one_write(store: Store) -> None:
    run = await held(store, "00000000000000a1")
    repo = WorkflowRepository(store)

    [written] = await repo.write_each([built(run)])
    assert written == Written(True, (Holder("a1", "ws1", "coding", run.id, "build"),))
    assert await state_of(store, run) == ("done", "done", run.version + 1)
    stored = await repo.read(run.id)
    assert stored is not None and stored.stages["check"].state == "running"
    row = await AssignmentRepository(store).get(run.stages["build"].task_id)
    assert row is not None and row["execution_id"] == "ex-1"

    # the same write again (a redelivered execution): neither the finish nor the transition applies
    assert await repo.write_each([built(run)]) == [Written(False, (None,))]
    assert await state_of(store, run) == ("done", "done", run.version + 1)


async def test_a_finish_that_does_not_apply_stores_no_transition(store: Store) -> None:
    run = await held(store, "00000000000000a2")
    repo = WorkflowRepository(store)
    stale_job = built(run, job=f"job-{run.stages['build'].task_id}-0")  # an older job of the task
    other_agent = built(run, agent="a2")  # the job's execution, but not from the agent holding it

    assert await repo.write_each([stale_job]) == [Written(False, (None,))]
    assert await repo.write_each([other_agent]) == [Written(False, (None,))]
    assert await state_of(store, run) == ("assigned", "running", run.version)


async def test_a_stale_transition_still_finishes_its_task(store: Store) -> None:
    run = await held(store, "00000000000000a3")
    [written] = await WorkflowRepository(store).write_each([built(run, seen=run.version - 1)])
    assert written.stored is False and written.holders[0] is not None  # the caller plans again
    assert await state_of(store, run) == ("done", "running", run.version)


async def test_each_write_of_a_batch_is_guarded_on_its_own(store: Store) -> None:
    a, b, c = [await held(store, f"00000000000000b{i}") for i in range(3)]
    writes = [built(a), built(b, job="job-elsewhere"), built(c)]
    got = await WorkflowRepository(store).write_each(writes)
    assert [(w.stored, w.holders[0] is not None) for w in got] == [(True, True), (False, False), (True, True)]
    assert await state_of(store, a) == ("done", "done", a.version + 1)
    assert await state_of(store, b) == ("assigned", "running", b.version)
    assert await state_of(store, c) == ("done", "done", c.version + 1)
    # a write with no finish answers as before
    assert await WorkflowRepository(store).write_many([built(b, job="nope")]) == [False]


async def test_a_fenced_writer_writes_neither_the_finish_nor_the_transition(store: Store) -> None:
    run = await held(store, "00000000000000c1")

    def deposed() -> Any:
        raise LeaseLost("the lease is another coordinator's")

    with pytest.raises(LeaseLost):
        await WorkflowRepository(store, fence=deposed).write_each([built(run)])
    assert await state_of(store, run) == ("assigned", "running", run.version)
