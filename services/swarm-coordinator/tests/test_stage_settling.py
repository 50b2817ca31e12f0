"""A stage's execution settled by the coordinator (settling.py → stage_outcomes.py → the engine):
the real coordinator with its real store and bus, the stage tasks assigned and left held, the
executions handed to it as its subscriber hands them.

- the task's finish and the stage's transition are one store round trip (no finish of its own),
  and the task's DONE is in the EVENTS stream before the successor stage's start;
- a redelivered execution changes nothing; an execution of an older job moves no stage and
  finishes nothing;
- an execution of an attempt the run is not running finishes its task and moves nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY
from workflow_testkit import start_feature_run, stored_run

from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.service import Coordinator
from vapora_testing.polling import eventually


def round_trips(kind: str) -> float:
    return REGISTRY.get_sample_value("vapora_coordinator_store_write_seconds_count", {"kind": kind}) or 0.0


async def assignment(coord: Coordinator, task_id: str) -> dict[str, Any]:
    row: dict[str, Any] = await eventually(lambda: coord.repo.get(task_id), timeout=10, what=f"{task_id} assigned")
    return row


def execution(row: dict[str, Any], execution_id: str, **fields: Any) -> kg_pb2.ExecutionRecorded:
    """The execution of the job holding ``row``'s task, as its agent reports it."""
    return kg_pb2.ExecutionRecorded(
        execution_id=execution_id,
        job_id=str(row["job_id"]),
        task_id=str(row["task_id"]),
        workspace_id=str(row["workspace_id"]),
        agent_id=str(row["agent_id"]),
        task_type=str(row["task_type"]),
        success=True,
        result=f"{row['stage_id']} done",
        **fields,
    )


async def test_a_stage_done_is_one_round_trip_and_its_done_event_goes_out_before_its_successor_starts(
    coordinator: CoordinatorApp, registry: tuple[object, str], bus: Bus
) -> None:
    seen: list[tuple[str, str, int]] = []  # (task | stage id, state) in the EVENTS stream's order

    async def on_msg(msg: Any) -> None:
        if msg.subject.startswith("events.task."):
            status = tasks_pb2.TaskStatusChanged.FromString(msg.data)
            seen.append(("task", status.task_id, status.state))
        elif msg.subject.startswith("events.workflow."):
            changed = pb.WorkflowRunChanged.FromString(msg.data)
            seen.append(("stage", changed.stage.stage_id, changed.stage.state))

    sub = await bus.js.subscribe("events.>", stream="EVENTS", cb=on_msg, ordered_consumer=True)
    try:
        coord, run = await start_feature_run(coordinator, registry)
        design = await assignment(coord, run.stages["design"].task_id)
        finishes, transitions = round_trips("finish"), round_trips("workflow")

        await coord.on_execution(execution(design, "ex-design"))
        assert (round_trips("finish"), round_trips("workflow")) == (finishes, transitions + 1)
        after = await stored_run(coord.workflows, run.id)
        assert (after.stages["design"].state, after.stages["implement"].state) == ("done", "running")
        assert (after.stages["design"].result, after.stages["design"].agent_id) == ("design done", design["agent_id"])
        assert after.version == run.version + 1
        finished = await coord.repo.get(design["task_id"])
        assert finished is not None and (finished["state"], finished["execution_id"]) == ("done", "ex-design")

        done = ("task", design["task_id"], common_pb2.TASK_STATE_DONE)
        implement = ("stage", "implement", pb.WORKFLOW_STAGE_STATE_RUNNING)
        await eventually(lambda: list(seen), until=lambda s: implement in s and done in s, timeout=10, what="events")
        assert seen.index(done) < seen.index(implement)
    finally:
        await sub.unsubscribe()


async def test_a_redelivered_or_stale_execution_of_a_stage_moves_nothing(
    coordinator: CoordinatorApp, registry: tuple[object, str]
) -> None:
    coord, run = await start_feature_run(coordinator, registry)
    design = await assignment(coord, run.stages["design"].task_id)
    await coord.on_execution(execution(design, "ex-design"))
    version = (await stored_run(coord.workflows, run.id)).version

    await coord.on_execution(execution(design, "ex-design"))  # redelivered
    assert (await stored_run(coord.workflows, run.id)).version == version

    implement = await assignment(coord, (await stored_run(coord.workflows, run.id)).stages["implement"].task_id)
    older = execution(implement, "ex-old")
    older.job_id = f"job-{implement['task_id']}-0"  # an older job of the task (reassigned since)
    await coord.on_execution(older)
    after = await stored_run(coord.workflows, run.id)
    assert (after.version, after.stages["implement"].state) == (version, "running")
    held = await coord.repo.get(implement["task_id"])
    assert held is not None and held["state"] == "assigned"


async def test_an_execution_of_an_attempt_the_run_is_not_running_finishes_its_task_alone(
    coordinator: CoordinatorApp, registry: tuple[object, str]
) -> None:
    coord, run = await start_feature_run(coordinator, registry)
    design = await assignment(coord, run.stages["design"].task_id)
    other = f"wf-{run.id}-design-9"  # an attempt of the stage the run never started
    row = {k: v for k, v in design.items() if k != "id"} | {"task_id": other, "job_id": f"job-{other}-1"}
    assert await coord.repo.create(row)

    await coord.on_execution(execution(row, "ex-other"))
    finished = await coord.repo.get(other)
    assert finished is not None and (finished["state"], finished["execution_id"]) == ("done", "ex-other")
    after = await stored_run(coord.workflows, run.id)
    assert (after.version, after.stages["design"].state) == (run.version, "running")


async def test_parallel_stages_settled_together_share_a_write_and_a_refused_finish_drops_only_its_outcome(
    coordinator: CoordinatorApp, registry: tuple[object, str]
) -> None:
    coord, run = await start_feature_run(coordinator, registry)
    for sid in ("design", "implement"):
        run = await stored_run(coord.workflows, run.id)
        await coord.on_execution(execution(await assignment(coord, run.stages[sid].task_id), f"ex-{sid}"))
    run = await stored_run(coord.workflows, run.id)
    review, test = [await assignment(coord, run.stages[sid].task_id) for sid in ("review", "test")]
    stale = execution(test, "ex-test-old")
    stale.job_id = f"job-{test['task_id']}-0"

    await asyncio.gather(coord.on_execution(execution(review, "ex-review")), coord.on_execution(stale))
    after = await stored_run(coord.workflows, run.id)
    assert (after.stages["review"].state, after.stages["test"].state) == ("done", "running")
    assert after.version == run.version + 1
    held = await coord.repo.get(test["task_id"])
    assert held is not None and held["state"] == "assigned"

    await asyncio.gather(
        coord.on_execution(execution(review, "ex-review")), coord.on_execution(execution(test, "ex-test"))
    )
    final = await stored_run(coord.workflows, run.id)
    assert (final.stages["test"].state, final.stages["approve"].state) == ("done", "waiting_approval")
    assert final.version == after.version + 1
