"""The crash matrix: the coordinator SIGKILLed at four points of a ``feature`` run, restarted, and
every run completes with each stage's task created once, its approval kept, nothing left running.

Real nats-server, the real agent-registry and the coordinator as processes (``python -m``); the
agents are test code on the bus. The kill is timed by watching the streams, as an operator would
see them — no crash hook in the product:

1. right after a stage is assigned (its task's ASSIGNED event);
2. right after a stage's execution arrives (the agent has just published it);
3. while the run waits for approval (the gate's WAITING_APPROVAL event); it is approved after the
   restart;
4. right after an approve is accepted (ApproveWorkflowGate has answered OK).

"Created once" is counted where it cannot be faked: the TASKS stream stored exactly one message per
stage task (its last sequence), the JOBS stream one job per stage task, every agent got one job per
task, and the store holds one assignment per task at attempt 1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from coordinator_testkit import EventLog, registry_process, stored_assignments
from workflow_testkit import ROLES, RunEvents, StageAgent

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_core.bus import Bus
from vapora_core.grpc import channel
from vapora_testing.polling import eventually
from vapora_testing.ports import free_port
from vapora_testing.process import ServiceProcess, service_env

pytestmark = pytest.mark.timeout(240)

ROOT = Path(__file__).resolve().parents[3]
WS = "ws-crash"
STAGES = ("design", "implement", "review", "test", "approve", "document", "deploy")
TASK_STAGES = tuple(s for s in STAGES if s != "approve")


async def register(addr: str) -> None:
    async with channel(addr) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        for agent_id, role, types in ROLES:
            agent = agents_pb2.Agent(
                id=agent_id,
                role=role,
                max_concurrency=4,
                capabilities=[agents_pb2.Capability(task_type=t) for t in types],
            )
            await stub.Register(agents_pb2.RegisterRequest(agent=agent))


class Coordinators:
    """The coordinator process: started, SIGKILLed, started again on the same store."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env, self.tmp_path = env, tmp_path
        self.proc: ServiceProcess | None = None
        self.starts = 0

    async def start(self) -> str:
        self.starts += 1
        env = {**self.env, "VAPORA_GRPC_PORT": str(free_port()), "VAPORA_METRICS_PORT": str(free_port())}
        log = self.tmp_path / f"coordinator-{self.starts}.log"
        self.proc = await ServiceProcess("vapora_swarm_coordinator", env, self.tmp_path, log).start()
        return self.proc.addr

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()


@contextlib.asynccontextmanager
async def stub_at(addr: str) -> AsyncIterator[Any]:
    async with channel(addr) as ch:
        yield coordinator_pb2_grpc.CoordinatorStub(ch)


async def until(pred: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Until ``pred`` holds, checked often: the kill is timed by it."""
    await eventually(pred, timeout=timeout, interval=0.005, what=what)


async def wait_run(addr: str, run_id: str, state: int, timeout: float = 40.0) -> pb.WorkflowRun:
    async with stub_at(addr) as stub:
        run: pb.WorkflowRun = await eventually(
            lambda: stub.GetWorkflowRun(pb.GetWorkflowRunRequest(workspace_id=WS, run_id=run_id)),
            until=lambda run: run.state == state,
            timeout=timeout,
            interval=0.1,
            what=f"run {run_id} to be {pb.WorkflowRunState.Name(state)}",  # type: ignore[arg-type]
        )
        return run


async def approve(addr: str, run_id: str) -> pb.WorkflowRun:
    async with stub_at(addr) as stub:
        req = pb.WorkflowGateRequest(workspace_id=WS, run_id=run_id, actor="ada", actor_role="admin", comment="ok")
        run: pb.WorkflowRun = await stub.ApproveWorkflowGate(req)
        return run


async def test_a_coordinator_killed_at_any_point_of_a_run_resumes_it_and_creates_each_stage_task_once(
    bus: Bus, nats_url: str, tmp_path: Path
) -> None:
    registry = await registry_process(nats_url, tmp_path)
    coordinators = Coordinators(
        service_env(
            nats_url,
            tmp_path / "coordinator",
            VAPORA_REGISTRY_ADDR=registry.addr,
            VAPORA_KG_ADDR="",
            VAPORA_CONFIG_DIR=str(ROOT / "config"),
            VAPORA_ACK_WAIT_S="2",  # what the killed process held comes back after 2 s, not 30
            VAPORA_LEASE_TTL_S="1.5",  # the restarted one takes over the dead one's lease within 2 s
            VAPORA_SWEEP_INTERVAL_S="0.5",
            VAPORA_WORKFLOW_RECONCILE_S="3",
            VAPORA_SHUTDOWN_GRACE_S="2",
        ),
        tmp_path,
    )
    tasks, runs = EventLog(), RunEvents()
    subs = [await tasks.follow(bus), await runs.follow(bus)]
    executions: list[str] = []  # stage task ids whose execution an agent has published, in order
    agents = {a: StageAgent(a, bus, delay_s=0.2) for a, _, _ in ROLES}
    run_ids: dict[str, str] = {}
    try:
        await register(registry.addr)
        for agent in agents.values():
            original = agent._on_job

            async def on_job(job: Any, delivery: Any, original: Any = original) -> None:
                await original(job, delivery)
                executions.append(job.task.id)

            agent._on_job = on_job  # type: ignore[method-assign]
            await agent.start()
        addr = await coordinators.start()

        async def start_run(title: str) -> str:
            async with stub_at(addr) as stub:
                req = pb.StartWorkflowRunRequest(workspace_id=WS, workflow="feature", title=title, actor="ada")
                run: pb.WorkflowRun = await stub.StartWorkflowRun(req)
                return run.id

        def assigned(task_id: str) -> bool:
            return common_pb2.TASK_STATE_ASSIGNED in tasks.states(task_id)

        def waiting(run_id: str) -> bool:
            return pb.WORKFLOW_STAGE_STATE_WAITING_APPROVAL in runs.stage_states(run_id, "approve")

        async def kill_once(title: str, reached: Callable[[str], bool], what: str) -> tuple[str, str]:
            """Start a run, SIGKILL the coordinator once ``reached(run_id)``, start a new one."""
            rid = await start_run(title)
            await until(lambda: reached(rid), what)
            coordinators.kill()
            return rid, await coordinators.start()

        async def approve_to_the_end(addr: str, rid: str) -> None:
            await approve(addr, rid)
            await wait_run(addr, rid, pb.WORKFLOW_RUN_STATE_SUCCEEDED)

        # -- 1: right after a stage is assigned -------------------------------------------------
        rid, addr = await kill_once(
            "killed after an assignment",
            lambda r: assigned(f"wf-{r}-implement-1"),
            "the implement stage to be assigned",
        )
        run_ids["assigned"] = rid
        await wait_run(addr, rid, pb.WORKFLOW_RUN_STATE_WAITING_APPROVAL)
        await approve_to_the_end(addr, rid)

        # -- 2: right after a stage's execution arrives ----------------------------------------
        rid, addr = await kill_once(
            "killed after an execution",
            lambda r: f"wf-{r}-implement-1" in executions,
            "the implement stage's execution",
        )
        run_ids["executed"] = rid
        await wait_run(addr, rid, pb.WORKFLOW_RUN_STATE_WAITING_APPROVAL)
        await approve_to_the_end(addr, rid)

        # -- 3: while waiting for approval ------------------------------------------------------
        rid, addr = await kill_once("killed while waiting", waiting, "the gate to wait for approval")
        run_ids["waiting"] = rid
        waited = await wait_run(addr, rid, pb.WORKFLOW_RUN_STATE_WAITING_APPROVAL)
        assert {s.stage_id: s.state for s in waited.stages}["approve"] == pb.WORKFLOW_STAGE_STATE_WAITING_APPROVAL
        await approve_to_the_end(addr, rid)

        # -- 4: right after an approve is accepted ----------------------------------------------
        run_ids["approved"] = rid = await start_run("killed after an approve")
        await until(lambda: waiting(rid), "the gate to wait for approval")
        await approve(addr, rid)
        coordinators.kill()
        addr = await coordinators.start()
        finished = await wait_run(addr, rid, pb.WORKFLOW_RUN_STATE_SUCCEEDED)
        assert [(d.round, d.approved, d.actor) for d in finished.stages[STAGES.index("approve")].decisions] == [
            (1, True, "ada")
        ]
        async with stub_at(addr) as stub:
            final = {
                r: await stub.GetWorkflowRun(pb.GetWorkflowRunRequest(workspace_id=WS, run_id=r))
                for r in run_ids.values()
            }
        await asyncio.sleep(1.0)  # anything a recovery would still re-publish has had its chance
        assert coordinators.proc is not None and coordinators.proc.terminate() == 0, coordinators.proc.tail()
    finally:
        if coordinators.proc is not None:
            coordinators.proc.kill()
        registry.kill()
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    # Every run completed, each gate approved exactly once (the approval was never lost nor doubled).
    for point, run in final.items():
        assert run.state == pb.WORKFLOW_RUN_STATE_SUCCEEDED, point
        gate = {s.stage_id: s for s in run.stages}["approve"]
        assert [(d.round, d.approved) for d in gate.decisions] == [(1, True)], point
        assert {s.stage_id: s.attempt for s in run.stages if s.kind == "task"} == dict.fromkeys(TASK_STAGES, 1), point

    expected = {f"wf-{rid}-{sid}-1" for rid in run_ids.values() for sid in TASK_STAGES}
    # Each stage's task was stored once on TASKS (re-publishes after a restart were dropped by msg id) …
    assert (await bus.js.stream_info("TASKS")).state.last_seq == len(expected)
    # … assigned once: one job each on JOBS, and each agent got each of its tasks once …
    assert (await bus.js.stream_info("JOBS")).state.last_seq == len(expected)
    received = Counter(w.job.task.id for a in agents.values() for w in a.worked)
    assert set(received) == expected and {n for n in received.values()} == {1}
    # … and finished: nothing is left running (no agent holds a job, no assignment is open).
    assert all(w.finished for a in agents.values() for w in a.worked)
    rows = await stored_assignments(tmp_path / "coordinator" / "swarm-coordinator")
    assert {r["task_id"] for r in rows} == expected
    assert {(r["attempt"], r["state"]) for r in rows} == {(1, "done")}
