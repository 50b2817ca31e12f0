"""Test kit of the workflow tests: the agents of the shipped templates' roles, simulated on the bus,
and the run's changes as the stream carries them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coordinator_testkit import FakeRegistry, StreamLog

from vapora.coordinator.v1 import coordinator_pb2
from vapora_core.bus import CONSUMERS, Bus, Delivery
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.workflows.engine import StartRequest, WorkflowEngine
from vapora_swarm_coordinator.workflows.model import Run
from vapora_testing.executions import execution_of, publish_execution
from vapora_testing.polling import eventually

# (agent id, role, task types in manifest order): the roles of the shipped templates, and agents that
# take some of the same task types under other roles (a role-constrained stage must not go to them)
ROLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("architect", "architect", ("architecture", "review")),
    ("developer", "developer", ("coding", "testing", "devops")),
    ("code-reviewer", "code-reviewer", ("review", "security")),
    ("tester", "tester", ("testing", "coding")),
    ("documenter", "documenter", ("documentation",)),
    ("devops", "devops", ("devops", "monitoring")),
    ("security", "security", ("security", "review")),
)


def register_roles(registry: FakeRegistry, max_concurrency: int = 4) -> None:
    for agent_id, role, types in ROLES:
        registry.add(agent_id, *types, max_concurrency=max_concurrency, role=role)


async def start_feature_run(coordinator: CoordinatorApp, registry: tuple[object, str]) -> tuple[Coordinator, Run]:
    """The app's coordinator, the roles' agents registered (``registry`` is the fake one) and seen,
    and a new run of ``feature`` in ws1, as started."""
    coord = coordinator.coordinator
    assert coord is not None
    register_roles(registry[0])  # type: ignore[arg-type]
    await coord.refresh_registry(force=True)
    run = await coord.workflows.start(StartRequest(workspace_id="ws1", workflow="feature", title="CSV export"))
    return coord, run


async def stored_run(engine: WorkflowEngine, run_id: str) -> Run:
    """The run as the store holds it, not this process's copy."""
    run = await engine.repo.read(run_id)
    assert run is not None
    return run


@dataclass
class Worked:
    job: coordinator_pb2.JobAssigned
    started: float
    finished: float = 0.0


@dataclass
class StageAgent:
    """An agent played by test code: takes ``jobs.<id>``, works ``delay_s``, reports an execution
    whose result names the task, or a failure when ``fails(job)``."""

    agent_id: str
    bus: Bus
    delay_s: float = 0.0
    fails: Callable[[coordinator_pb2.JobAssigned], bool] = lambda job: False
    worked: list[Worked] = field(default_factory=list)

    async def start(self, max_concurrency: int = 4) -> None:
        spec = CONSUMERS.job(self.agent_id, max_concurrency)
        await self.bus.subscribe(spec, coordinator_pb2.JobAssigned, self._on_job, workers=max_concurrency)

    async def _on_job(self, job: coordinator_pb2.JobAssigned, _: Delivery) -> None:
        w = Worked(job, time.time())
        self.worked.append(w)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        ok = not self.fails(job)
        result = f"{self.agent_id} did: {job.task.title}" if ok else ""
        e = execution_of(job, agent_id=self.agent_id, success=ok, result=result, error="" if ok else "it failed")
        e.cost_cents = 0.25
        if ok and self.agent_id == "developer":  # its commit on the run's branch, as the runtime reports it
            e.artifacts.commit, e.artifacts.branch = f"c-{job.job_id}", job.task.branch
        if ok and self.agent_id == "code-reviewer":  # a reviewer's structured verdict
            e.verification.kind, e.verification.decision = "review", "approve"
        w.finished = time.time()
        await publish_execution(self.bus, e)

    def jobs(self) -> list[coordinator_pb2.JobAssigned]:
        return [w.job for w in self.worked]


async def start_agents(bus: Bus, **delays: float) -> dict[str, StageAgent]:
    agents = {a: StageAgent(a, bus, delay_s=delays.get(a.replace("-", "_"), 0.0)) for a, _, _ in ROLES}
    for agent in agents.values():
        await agent.start()
    return agents


class RunEvents(StreamLog[coordinator_pb2.WorkflowRunChanged]):
    """Every WorkflowRunChanged on the EVENTS stream, in stream order."""

    def __init__(self) -> None:
        super().__init__(coordinator_pb2.WorkflowRunChanged, "events.workflow.*", "the run events")

    def stage_states(self, run_id: str, stage_id: str) -> list[int]:
        return [e.stage.state for e in self.events if e.run_id == run_id and e.stage.stage_id == stage_id]

    def run_state(self, run_id: str) -> int:
        mine = [e for e in self.events if e.run_id == run_id]
        return max(mine, key=lambda e: e.version).state if mine else 0


async def wait_state(
    stub: Any, run_id: str, state: int, ws: str = "ws1", timeout: float = 20.0
) -> coordinator_pb2.WorkflowRun:
    """The run once its state is ``state``, read through ``stub`` until it is (or ``timeout`` passes)."""
    run: coordinator_pb2.WorkflowRun = await eventually(
        lambda: stub.GetWorkflowRun(coordinator_pb2.GetWorkflowRunRequest(workspace_id=ws, run_id=run_id)),
        until=lambda run: run.state == state,
        timeout=timeout,
        what=f"run {run_id} to be {coordinator_pb2.WorkflowRunState.Name(state)}",  # type: ignore[arg-type]
    )
    return run
