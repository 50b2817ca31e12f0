"""Outcomes of one run that arrive together (workflows/engine.py, ``on_outcome``): the real
coordinator with its real store and bus; the outcomes are handed to its engine as the settling of
executions hands them, with no agent working (the stage tasks are assigned and left held)."""

from __future__ import annotations

import asyncio

from workflow_testkit import start_feature_run, stored_run

from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.workflows.draft import Outcome
from vapora_swarm_coordinator.workflows.engine import WorkflowEngine
from vapora_swarm_coordinator.workflows.model import Run


def done(run: Run, stage_id: str) -> Outcome:
    st = run.stages[stage_id]
    return Outcome(stage_id=stage_id, task_id=st.task_id, success=True, agent_id="a", result=f"{stage_id} ok")


async def at_review_and_test(coordinator: CoordinatorApp, registry: tuple[object, str]) -> tuple[WorkflowEngine, Run]:
    """A run of ``feature`` designed and implemented: review and test running, as stored."""
    coord, run = await start_feature_run(coordinator, registry)
    engine = coord.workflows
    for sid in ("design", "implement"):
        await engine.on_outcome(run.id, done(run, sid))
        run = await stored_run(engine, run.id)
    assert (run.stages["review"].state, run.stages["test"].state) == ("running", "running")
    return engine, run


async def test_parallel_stages_finishing_together_are_stored_with_one_write_and_their_successor_starts_once(
    coordinator: CoordinatorApp, registry: tuple[object, str]
) -> None:
    engine, run = await at_review_and_test(coordinator, registry)
    before = run.version

    await asyncio.gather(engine.on_outcome(run.id, done(run, "review")), engine.on_outcome(run.id, done(run, "test")))
    after = await stored_run(engine, run.id)
    assert after.version == before + 1  # one write for both
    assert {sid: st.state for sid, st in after.stages.items() if sid in ("review", "test", "approve")} == {
        "review": "done",
        "test": "done",
        "approve": "waiting_approval",
    }
    assert (after.stages["review"].result, after.stages["test"].result) == ("review ok", "test ok")
    assert after.state == "waiting_approval"

    # each outcome again (a redelivery), together: nothing changes
    await asyncio.gather(engine.on_outcome(run.id, done(run, "review")), engine.on_outcome(run.id, done(run, "test")))
    assert (await stored_run(engine, run.id)).version == after.version


async def test_an_outcome_arriving_while_the_runs_write_is_in_flight_gets_a_write_of_its_own(
    coordinator: CoordinatorApp, registry: tuple[object, str]
) -> None:
    engine, run = await at_review_and_test(coordinator, registry)
    before = run.version
    first = asyncio.ensure_future(engine.on_outcome(run.id, done(run, "review")))
    for _ in range(3):  # the first has taken its outcome and is writing it
        await asyncio.sleep(0)
    await asyncio.gather(first, engine.on_outcome(run.id, done(run, "test")))
    after = await stored_run(engine, run.id)
    assert after.version == before + 2
    assert (after.stages["review"].state, after.stages["test"].state, after.state) == (
        "done",
        "done",
        "waiting_approval",
    )
