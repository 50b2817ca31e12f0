"""Workflow runs through the real coordinator: real nats-server, real embedded SurrealDB, real gRPC
over loopback; the agents are test code on the bus (they take ``jobs.<id>`` and publish executions).

The shipped ``feature`` template (config/workflows.toml) runs with its stages assigned like any
task; a run is driven over the Coordinator's gRPC workflow control, as the gateway drives it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from coordinator_testkit import following  # type: ignore[import-not-found]
from workflow_testkit import RunEvents, register_roles, start_agents, wait_state

from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_core.bus import Bus
from vapora_core.errors import Unavailable
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.workflows.effects import Effects
from vapora_testing.apps import grpc_stub
from vapora_testing.polling import eventually

WS = "ws1"
RUNNING = pb.WORKFLOW_RUN_STATE_RUNNING
WAITING = pb.WORKFLOW_RUN_STATE_WAITING_APPROVAL
SUCCEEDED = pb.WORKFLOW_RUN_STATE_SUCCEEDED


def stage_state(name: str) -> int:
    return pb.WorkflowStageState.Value(f"WORKFLOW_STAGE_STATE_{name.upper()}")


@pytest.fixture
async def stub(coordinator: CoordinatorApp, registry: Any) -> AsyncIterator[coordinator_pb2_grpc.CoordinatorStub]:
    register_roles(registry[0])
    await coordinator.coordinator.refresh_registry(force=True)  # type: ignore[union-attr]
    async with grpc_stub(coordinator.grpc_port, coordinator_pb2_grpc.CoordinatorStub) as stub:
        yield stub


@pytest.fixture
async def run_events(bus: Bus) -> AsyncIterator[RunEvents]:
    async with following(RunEvents(), bus) as log:
        yield log


def stages(run: pb.WorkflowRun) -> dict[str, pb.StageState]:
    return {s.stage_id: s for s in run.stages}


async def start_feature(stub: Any, title: str = "Export reports as CSV", ws: str = WS) -> pb.WorkflowRun:
    req = pb.StartWorkflowRunRequest(
        workspace_id=ws, workflow="feature", title=title, description="Users asked for CSV.", actor="ada"
    )
    run: pb.WorkflowRun = await stub.StartWorkflowRun(req)
    return run


async def test_the_feature_workflow_runs_review_and_test_in_parallel_waits_at_the_gate_and_finishes_on_approve(
    stub: Any, bus: Bus, run_events: RunEvents
) -> None:
    agents = await start_agents(bus, code_reviewer=0.5, tester=0.5)
    run = await start_feature(stub)
    assert run.state == RUNNING and run.branch == f"vapora/run-{run.id}"
    waiting = await wait_state(stub, run.id, WAITING)
    s = stages(waiting)
    assert {k: v.state for k, v in s.items()} == {
        "design": stage_state("done"), "implement": stage_state("done"), "review": stage_state("done"),
        "test": stage_state("done"), "approve": stage_state("waiting_approval"),
        "document": stage_state("pending"), "deploy": stage_state("pending"),
    }  # fmt: skip
    # the stages overlap, and so did the agents' work on them: each began before the other ended
    review, test = s["review"], s["test"]
    assert review.started_at.ToNanoseconds() < test.finished_at.ToNanoseconds()
    assert test.started_at.ToNanoseconds() < review.finished_at.ToNanoseconds()
    reviewed, tested = agents["code-reviewer"].worked[0], agents["tester"].worked[0]
    assert min(reviewed.finished, tested.finished) - max(reviewed.started, tested.started) > 0.3
    # every stage went to its role, though other roles take the same task types (developer: testing)
    assert {k: v.agent_id for k, v in s.items() if v.agent_id} == {
        "design": "architect", "implement": "developer", "review": "code-reviewer", "test": "tester"
    }  # fmt: skip
    job = agents["developer"].jobs()[0]
    assert (job.task.workflow_run_id, job.task.stage_id, job.task.branch) == (run.id, "implement", run.branch)
    assert job.task.required_role == "developer"
    assert "architect did: Design: Export reports as CSV" in job.task.description  # the design is its input
    # the developer's commit and the reviewer's verdict, from their executions' evidence
    assert (s["implement"].commit, s["implement"].verified) == (f"c-{job.job_id}", True)
    assert (s["review"].verdict, s["review"].commit) == ("approve", "")

    # waiting for approval holds no worker: no job is out, nothing is assigned
    assert sum(len(a.worked) for a in agents.values()) == 4
    done = await stub.ApproveWorkflowGate(
        pb.WorkflowGateRequest(workspace_id=WS, run_id=run.id, actor="ada", actor_role="admin", comment="ship it")
    )
    assert stages(done)["approve"].decisions[0].actor == "ada"
    finished = await wait_state(stub, run.id, SUCCEEDED)
    assert {v.state for v in finished.stages} == {stage_state("done"), stage_state("approved")}
    assert finished.cost_cents == pytest.approx(6 * 0.25)
    assert run_events.run_state(run.id) == SUCCEEDED


async def test_reject_with_a_comment_runs_the_developer_stage_again_with_the_comment_as_its_input(
    stub: Any, bus: Bus
) -> None:
    agents = await start_agents(bus)
    run = await start_feature(stub, "Import reports from CSV")
    await wait_state(stub, run.id, WAITING)
    rejected = await stub.RejectWorkflowGate(
        pb.WorkflowGateRequest(
            workspace_id=WS, run_id=run.id, actor="ada", actor_role="owner", comment="Handle a header-only file."
        )
    )
    assert stages(rejected)["approve"].rejections == 1
    waiting = await wait_state(stub, run.id, WAITING)
    assert stages(waiting)["implement"].attempt == 2
    again = [j for j in agents["developer"].jobs() if j.task.stage_id == "implement"]
    assert [j.task.id for j in again] == [f"wf-{run.id}-implement-1", f"wf-{run.id}-implement-2"]
    assert "Handle a header-only file." not in again[0].task.description
    assert "Handle a header-only file." in again[1].task.description
    # the reviewer and tester saw the second implementation too
    assert [j.task.id for j in agents["tester"].jobs()] == [f"wf-{run.id}-test-1", f"wf-{run.id}-test-2"]
    await stub.ApproveWorkflowGate(
        pb.WorkflowGateRequest(workspace_id=WS, run_id=run.id, actor="ada", actor_role="admin")
    )
    finished = await wait_state(stub, run.id, SUCCEEDED)
    assert [(d.round, d.approved) for d in stages(finished)["approve"].decisions] == [(1, False), (2, True)]


async def test_another_workspaces_run_is_not_found_and_a_viewer_cannot_approve(stub: Any, bus: Bus) -> None:
    await start_agents(bus)
    run = await start_feature(stub)
    await wait_state(stub, run.id, WAITING)
    for call in (
        stub.GetWorkflowRun(pb.GetWorkflowRunRequest(workspace_id="ws2", run_id=run.id)),
        stub.ApproveWorkflowGate(
            pb.WorkflowGateRequest(workspace_id="ws2", run_id=run.id, actor="x", actor_role="owner")
        ),
        stub.CancelWorkflowRun(pb.WorkflowRunControlRequest(workspace_id="ws2", run_id=run.id)),
        stub.GetWorkflowRun(pb.GetWorkflowRunRequest(workspace_id=WS, run_id="0000000000000000")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert "no workflow run" in str(err.value.details())
    listed = await stub.ListWorkflowRuns(pb.ListWorkflowRunsRequest(workspace_id="ws2"))
    assert list(listed.runs) == []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ApproveWorkflowGate(
            pb.WorkflowGateRequest(workspace_id=WS, run_id=run.id, actor="vic", actor_role="viewer")
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "role 'viewer' may not decide gate approve" in str(err.value.details())
    still = await stub.GetWorkflowRun(pb.GetWorkflowRunRequest(workspace_ids=["ws9", WS], run_id=run.id))
    assert still.state == WAITING and list(stages(still)["approve"].decisions) == []


async def test_cancel_stops_the_running_stages_job_and_nothing_is_left_running(
    stub: Any, bus: Bus, coordinator: CoordinatorApp
) -> None:
    agents = await start_agents(bus, architect=30.0)  # the design stage is in flight when the run is cancelled
    run = await start_feature(stub)
    await eventually(lambda: agents["architect"].worked, timeout=10, what="the architect's job")
    cancelled = await stub.CancelWorkflowRun(
        pb.WorkflowRunControlRequest(workspace_id=WS, run_id=run.id, actor="ada", reason="not now")
    )
    assert cancelled.state == pb.WORKFLOW_RUN_STATE_CANCELLED and cancelled.detail == "cancelled by ada: not now"
    assert stages(cancelled)["design"].state == stage_state("cancelled")
    assert stages(cancelled)["implement"].state == stage_state("skipped")
    repo = coordinator.coordinator.repo  # type: ignore[union-attr]
    await eventually(
        lambda: repo.get(f"wf-{run.id}-design-1"),
        until=lambda row: row is not None and row["state"] == "cancelled",
        timeout=5,
        what="the design task's assignment to be cancelled",
    )
    assert await repo.active() == []  # no task of the run is held by an agent
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ResumeWorkflowRun(pb.WorkflowRunControlRequest(workspace_id=WS, run_id=run.id))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_a_paused_run_starts_no_stage_until_it_is_resumed(stub: Any, bus: Bus) -> None:
    agents = await start_agents(bus, architect=0.5)
    run = await start_feature(stub)
    paused = await stub.PauseWorkflowRun(pb.WorkflowRunControlRequest(workspace_id=WS, run_id=run.id))
    assert paused.state == pb.WORKFLOW_RUN_STATE_PAUSED
    got = await eventually(  # the design stage, already running, finishes
        lambda: stub.GetWorkflowRun(pb.GetWorkflowRunRequest(workspace_id=WS, run_id=run.id)),
        until=lambda got: stages(got)["design"].state == stage_state("done"),
        timeout=10,
        what="the design stage to finish",
    )
    assert stages(got)["implement"].state == stage_state("ready") and got.state == pb.WORKFLOW_RUN_STATE_PAUSED
    await asyncio.sleep(0.3)
    assert agents["developer"].jobs() == []
    resumed = await stub.ResumeWorkflowRun(pb.WorkflowRunControlRequest(workspace_id=WS, run_id=run.id))
    assert resumed.state == RUNNING and stages(resumed)["implement"].state == stage_state("running")
    await wait_state(stub, run.id, WAITING)


async def test_a_failing_stage_is_retried_then_the_run_fails_and_a_stage_past_its_timeout_is_retried(
    stub: Any, bus: Bus
) -> None:
    agents = await start_agents(bus, tester=5.0)
    agents["architect"].fails = lambda job: True
    made = await stub.CreateWorkflow(
        pb.CreateWorkflowRequest(
            workspace_id=WS,
            actor="ada",
            workflow=pb.WorkflowTemplate(
                name="flaky",
                stages=[
                    pb.WorkflowStage(id="plan", role="architect", retries=2),
                    pb.WorkflowStage(id="check", role="tester", needs=["plan"], timeout_s=0.5, retries=1),
                ],
            ),
        )
    )
    assert made.workspace_id == WS and [s.retries for s in made.stages] == [2, 1]
    failing = await stub.StartWorkflowRun(pb.StartWorkflowRunRequest(workspace_id=WS, workflow="flaky", title="x"))
    failed = await wait_state(stub, failing.id, pb.WORKFLOW_RUN_STATE_FAILED)
    assert stages(failed)["plan"].attempt == 3 and "after 3 attempt(s): it failed" in failed.detail
    assert stages(failed)["check"].state == stage_state("skipped")
    agents["architect"].fails = lambda job: False
    slow = await stub.StartWorkflowRun(pb.StartWorkflowRunRequest(workspace_id=WS, workflow="flaky", title="y"))
    timed_out = await wait_state(stub, slow.id, pb.WORKFLOW_RUN_STATE_FAILED)
    assert stages(timed_out)["check"].attempt == 2 and "timed out after 0.5s" in timed_out.detail
    assert [j.task.id for j in agents["tester"].jobs()] == [f"wf-{slow.id}-check-1", f"wf-{slow.id}-check-2"]


async def test_bad_templates_are_refused_with_the_reason(stub: Any) -> None:
    bad = {
        "a cycle": pb.WorkflowTemplate(
            name="loop",
            stages=[
                pb.WorkflowStage(id="a", task_type="coding", needs=["b"]),
                pb.WorkflowStage(id="b", task_type="coding", needs=["a"]),
            ],
        ),
        "an unknown task type": pb.WorkflowTemplate(
            name="odd", stages=[pb.WorkflowStage(id="a", task_type="juggling")]
        ),
        "a gate with no approvers": pb.WorkflowTemplate(
            name="gated",
            stages=[pb.WorkflowStage(id="a", task_type="coding"), pb.WorkflowStage(id="g", kind="gate", needs=["a"])],
        ),
    }
    reasons = {}
    for why, template in bad.items():
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateWorkflow(pb.CreateWorkflowRequest(workspace_id=WS, workflow=template))
        lacking = why == "an unknown task type"  # a fact about the fleet, not a fault of the definition
        expected = grpc.StatusCode.FAILED_PRECONDITION if lacking else grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.code() == expected, why
        reasons[why] = str(err.value.details())
    assert "field needs: the stages form a cycle" in reasons["a cycle"]
    assert (
        "stage 'a': field task_type: no registered agent takes task type 'juggling'" in reasons["an unknown task type"]
    )
    assert "stage 'g': field approvers: a gate needs at least one approver role" in reasons["a gate with no approvers"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateWorkflow(
            pb.CreateWorkflowRequest(
                workspace_id=WS,
                workflow=pb.WorkflowTemplate(name="feature", stages=[pb.WorkflowStage(id="a", task_type="coding")]),
            )
        )
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    listed = await stub.ListWorkflows(pb.ListWorkflowsRequest(workspace_id=WS))
    assert [t.name for t in listed.workflows] == ["bugfix", "feature", "security-review"]


async def test_a_retried_start_with_the_same_run_id_is_one_run(stub: Any, bus: Bus) -> None:
    agents = await start_agents(bus)
    req = pb.StartWorkflowRunRequest(
        workspace_id=WS, workflow="bugfix", title="Crash on empty input", run_id="00000000000000aa"
    )
    first, second = await asyncio.gather(stub.StartWorkflowRun(req), stub.StartWorkflowRun(req))
    assert first.id == second.id == "00000000000000aa"
    await wait_state(stub, first.id, SUCCEEDED)
    assert [j.task.id for j in agents["tester"].jobs()] == ["wf-00000000000000aa-reproduce-1"]
    page = await stub.ListWorkflowRuns(pb.ListWorkflowRunsRequest(workspace_id=WS))
    assert [r.id for r in page.runs] == ["00000000000000aa"]


class LosingBus:
    """The bus, but the next ``lose`` publishes on ``tasks.*`` never happen (a crash between the
    stored transition and its publish, as far as the stream can tell)."""

    def __init__(self, bus: Bus, lose: int) -> None:
        self.bus, self.lose = bus, lose

    async def publish(self, subject: str, message: Any, *, msg_id: str | None = None) -> Any:
        return await (await self.send(subject, message, msg_id=msg_id))

    async def send(self, subject: str, message: Any, *, msg_id: str | None = None) -> Any:
        if subject.startswith("tasks.") and self.lose > 0:
            self.lose -= 1
            raise Unavailable("lost with the process")
        return await self.bus.send(subject, message, msg_id=msg_id)

    async def broadcast(self, subject: str, message: Any) -> None:
        await self.bus.broadcast(subject, message)


async def test_a_stored_transition_whose_task_was_never_published_is_published_by_the_recovery_pass(
    stub: Any, bus: Bus, coordinator: CoordinatorApp
) -> None:
    agents = await start_agents(bus)
    coord = coordinator.coordinator
    assert coord is not None
    engine = coord.workflows
    real = engine.effects
    engine.effects = Effects(LosingBus(bus, lose=1), real.clock)  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await start_feature(stub)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    engine.effects = real
    [run] = (await stub.ListWorkflowRuns(pb.ListWorkflowRunsRequest(workspace_id=WS))).runs
    assert stages(run)["design"].state == stage_state("running")  # stored, though its task never went out
    await asyncio.sleep(0.3)
    assert agents["architect"].jobs() == []
    await coord.recovery.recover()  # what a restart runs
    await wait_state(stub, run.id, WAITING)
    assert [j.task.id for j in agents["architect"].jobs()] == [f"wf-{run.id}-design-1"]
