"""A stage's task that ends without an execution still moves its run, and the sweep finishes what
the hooks did not: real coordinator, store, nats-server and gRPC, agents on the bus (or none).

- no healthy agent of the stage's role: the task fails after ``no_agent_timeout_s`` and the stage
  fails with it (assigning.py tells the engine);
- the task's job times out ``max_attempts`` times: the task fails and so does the stage
  (reassigning.py tells the engine);
- a stage whose task's assignment finished while the engine was not told (a lost hook): the
  sweep applies the outcome from the assignment and the run goes on (recovery.py).
- SIGHUP's reload of the templates file: a new template is offered, an invalid file keeps the
  previous ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from coordinator_testkit import running
from workflow_testkit import register_roles, start_agents, wait_state

from vapora.agents.v1 import agents_pb2
from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_core.bus import Bus
from vapora_core.grpc import channel
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_testing.apps import grpc_stub
from vapora_testing.polling import eventually

WS = "ws1"
ROOT = Path(__file__).resolve().parents[3]


async def make(stub: Any, name: str, *stages: pb.WorkflowStage) -> None:
    await stub.CreateWorkflow(
        pb.CreateWorkflowRequest(workspace_id=WS, workflow=pb.WorkflowTemplate(name=name, stages=stages))
    )


@pytest.fixture(params=[30.0], ids=["hooks only"])
async def app(
    request: pytest.FixtureRequest, coordinator_settings: CoordinatorSettings, registry: Any
) -> AsyncIterator[CoordinatorApp]:
    """The coordinator with short job timeouts, one attempt per task, and the sweep's reconciling
    (``workflow_reconcile_s``) at ``request.param``: at 30 s only the hooks can move a run in time."""
    register_roles(registry[0])
    settings = coordinator_settings.model_copy(
        update={"job_timeout_s": 0.5, "max_attempts": 1, "workflow_reconcile_s": request.param}
    )
    async with running(settings) as app:
        await app.coordinator.refresh_registry(force=True)  # type: ignore[union-attr]
        yield app


@pytest.fixture
async def stub(app: CoordinatorApp) -> AsyncIterator[Any]:
    async with grpc_stub(app.grpc_port, coordinator_pb2_grpc.CoordinatorStub) as stub:
        yield stub


async def test_a_stage_whose_role_has_no_healthy_agent_fails_after_the_no_agent_timeout(
    app: CoordinatorApp, stub: Any, registry: Any
) -> None:
    fake, _ = registry
    fake.agents["tester"].status = agents_pb2.AGENT_STATUS_UNHEALTHY  # known to the fleet, not healthy
    await app.coordinator.refresh_registry(force=True)  # type: ignore[union-attr]
    await make(stub, "lonely", pb.WorkflowStage(id="check", role="tester", retries=0))
    run = await stub.StartWorkflowRun(pb.StartWorkflowRunRequest(workspace_id=WS, workflow="lonely", title="x"))
    failed = await wait_state(stub, run.id, pb.WORKFLOW_RUN_STATE_FAILED)
    assert "no healthy agent capable of testing of role tester" in failed.detail


async def test_a_stage_whose_job_times_out_on_its_last_attempt_fails_the_run(app: CoordinatorApp, stub: Any) -> None:
    # nobody takes the architect's jobs: the job times out (0.5 s) and max_attempts is 1
    await make(stub, "stuck", pb.WorkflowStage(id="plan", role="architect", retries=0))
    run = await stub.StartWorkflowRun(pb.StartWorkflowRunRequest(workspace_id=WS, workflow="stuck", title="x"))
    failed = await wait_state(stub, run.id, pb.WORKFLOW_RUN_STATE_FAILED)
    assert "timed out" in failed.detail and "gave up after 1 attempts" in failed.detail


@pytest.mark.parametrize("app", [0.2], ids=["reconciling"], indirect=True)
async def test_the_sweep_applies_an_outcome_the_engine_was_never_told_of(
    app: CoordinatorApp, stub: Any, bus: Bus
) -> None:
    coord = app.coordinator
    assert coord is not None
    await make(
        stub,
        "two",
        pb.WorkflowStage(id="first", role="architect", retries=0),
        pb.WorkflowStage(id="second", role="developer", needs=["first"]),
    )
    run = await stub.StartWorkflowRun(pb.StartWorkflowRunRequest(workspace_id=WS, workflow="two", title="x"))
    task_id = f"wf-{run.id}-first-1"
    row = await eventually(lambda: coord.repo.get(task_id), timeout=10, what="the first stage's assignment")
    # the task finishes as settling would finish it, but no one tells the engine (a lost hook)
    assert await coord.repo.finish(
        task_id, str(row["job_id"]), {"state": "done", "finished_s": 1.0, "execution_id": "ex-1"}
    )
    agents = await start_agents(bus)
    finished = await wait_state(stub, run.id, pb.WORKFLOW_RUN_STATE_SUCCEEDED)
    first = next(s for s in finished.stages if s.stage_id == "first")
    assert (first.execution_id, first.result) == ("ex-1", "")  # from the assignment: no result text
    assert [j.task.id for j in agents["developer"].jobs()] == [f"wf-{run.id}-second-1"]


async def test_sighup_reloads_the_templates_and_an_invalid_file_keeps_the_previous_ones(
    coordinator_settings: CoordinatorSettings, tmp_path: Path, registry: Any
) -> None:
    register_roles(registry[0])
    config = tmp_path / "config"
    config.mkdir()
    shipped = (ROOT / "config" / "workflows.toml").read_text()
    (config / "workflows.toml").write_text(shipped)
    async with running(coordinator_settings, config_dir=config) as app, channel(f"127.0.0.1:{app.grpc_port}") as ch:
        stub = coordinator_pb2_grpc.CoordinatorStub(ch)

        async def names() -> list[str]:
            reply = await stub.ListWorkflows(pb.ListWorkflowsRequest(workspace_id=WS))
            return [t.name for t in reply.workflows]

        assert await names() == ["bugfix", "feature", "security-review"]
        extra = '\n[[workflows]]\nname = "tiny"\n[[workflows.stages]]\nid = "only"\nrole = "tester"\n'
        (config / "workflows.toml").write_text(shipped + extra)
        await app.reload()
        assert await names() == ["bugfix", "feature", "security-review", "tiny"]
        (config / "workflows.toml").write_text(shipped + '\n[[workflows]]\nname = "broken"\n')
        await app.reload()  # logged and refused: the templates loaded before keep serving
        assert await names() == ["bugfix", "feature", "security-review", "tiny"]
