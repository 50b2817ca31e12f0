"""Workflow runs at scale: many concurrent runs of a 5-stage template with instant agents.

    uv run --group bench python bench/bench_workflows.py [--runs 1000] [--agents-per-role 4]

The coordinator runs as its own process (``python -m vapora_swarm_coordinator``: embedded SurrealDB
store, priority intake, the workflow engine) on a real nats-server; its agents are served by an
AgentRegistry over gRPC from this process. The template, made through CreateWorkflow, is

    plan (architect) → build (developer) → review (code-reviewer) ∥ test (tester) → release (devops)

Two phases on one coordinator: ``--paced-runs`` runs started at ``--rate`` a second (a load it keeps
up with), then the burst, ``--runs`` runs started at once over gRPC (StartWorkflowRun, 64 in
flight). The agents are instant: this process sees each JobAssigned (a core NATS subscription on
``jobs.>``) and publishes its ExecutionRecorded at once, so what is measured is the coordinator's.

Printed per phase: runs completed (of the runs started), wall time, stage transitions per second
(every stage change the coordinator published on ``events.workflow.>``, from the first to the last),
the coordinator's CPU per stage change (and its event loop's part: the rest is the embedded store
engine's threads), its store round trips by kind (read from its ``/metrics``: how many, items
each, seconds each), and, for every stage with needs, the time from the last of its needs being
done — its task's DONE published on ``events.task.>`` — to its own task being published on
``tasks.>`` (core subscriptions): p50, p99, max; and the same from the need's execution being
published by its agent (the coordinator's settling of it included). The target: all runs complete,
p99 ≤ 50 ms. Prints figures; asserts nothing.

``VAPORA_BENCH_PROFILE=<file>`` runs the coordinator under cProfile (``profiled.py``) and leaves its
stats in that file (``python -m pstats <file>``); its figures are then not comparable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from coordinator_cpu import cpu_seconds
from coordinator_harness import coordinator_process, serve_registry, stop_coordinator, store_trips
from figures import Figures, at_least, at_most
from nats.aio.msg import Msg

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus
from vapora_core.grpc import channel
from vapora_core.lifecycle import tune_gc
from vapora_core.settings import ServiceSettings
from vapora_testing.executions import execution_of, send_execution
from vapora_testing.nats import NatsServer
from vapora_testing.process import ServiceProcess

ROOT = Path(__file__).resolve().parents[1]
PROFILED = Path(__file__).with_name("profiled.py")
WS = "bench-ws"
STAGES = (  # (id, role, needs)
    ("plan", "architect", ()),
    ("build", "developer", ("plan",)),
    ("review", "code-reviewer", ("build",)),
    ("test", "tester", ("build",)),
    ("release", "devops", ("review", "test")),
)
TYPES = {
    "architect": "architecture",
    "developer": "coding",
    "code-reviewer": "review",
    "tester": "testing",
    "devops": "devops",
}
NEEDS = {sid: needs for sid, _, needs in STAGES}
TRIPS = ("workflow_start", "workflow", "finish", "create")  # the coordinator's group commits, by kind


def agents(per_role: int) -> list[agents_pb2.Agent]:
    return [
        agents_pb2.Agent(
            id=f"{role}-{i}",
            role=role,
            max_concurrency=0,  # no cap: instant agents are never the bottleneck
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            capabilities=[agents_pb2.Capability(task_type=task_type)],
        )
        for role, task_type in TYPES.items()
        for i in range(per_role)
    ]


def stage_of(task_id: str) -> tuple[str, str]:
    """(run id, stage id) of ``wf-<run>-<stage>-<attempt>``."""
    _, run_id, rest = task_id.split("-", 2)
    return run_id, rest.rsplit("-", 1)[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase:
    runs: int
    rate: float | None  # runs started a second; None: at once
    succeeded: int
    ended: int
    wall_s: float
    transitions: int
    transitions_per_s: float
    settled_ms: list[float]
    executed_ms: list[float]
    cpu_s: float | None
    main_cpu_s: float | None  # the coordinator's main thread (the event loop); the rest is the store engine's
    trips: dict[str, tuple[float, float, float]]  # kind → round trips, items, seconds in the phase


class Observer:
    """Plays the instant agents and times what the coordinator publishes."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.done_at: dict[tuple[str, str], float] = {}  # (run, stage) → its execution published
        self.settled_at: dict[tuple[str, str], float] = {}  # (run, stage) → its task's DONE published
        self.published_at: dict[tuple[str, str], float] = {}  # (run, stage) → its task published
        self.transitions = 0
        self.first = self.last = 0.0
        self.ended: dict[str, int] = {}  # run → final state
        self.all_ended = asyncio.Event()
        self.expect = 0
        self._pending: set[asyncio.Future[Any]] = set()

    async def start(self, url: str) -> None:
        self.nc = await nats.connect(url)
        await self.nc.subscribe("jobs.>", cb=self._job)
        await self.nc.subscribe("tasks.>", cb=self._task)
        await self.nc.subscribe("events.workflow.>", cb=self._event)
        await self.nc.subscribe("events.task.>", cb=self._status)

    async def _job(self, msg: Msg) -> None:
        job = pb.JobAssigned.FromString(msg.data)
        e = execution_of(job, success=True, quality=0.9, latency_ms=0, result="ok")
        future = await send_execution(self.bus, e)
        self.done_at[stage_of(job.task.id)] = time.perf_counter()
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    async def _task(self, msg: Msg) -> None:
        task_id = (msg.headers or {}).get("Nats-Msg-Id", "")
        if task_id.startswith("wf-"):
            self.published_at.setdefault(stage_of(task_id), time.perf_counter())

    async def _status(self, msg: Msg) -> None:
        e = tasks_pb2.TaskStatusChanged.FromString(msg.data)
        if e.state == common_pb2.TASK_STATE_DONE and e.task_id.startswith("wf-"):
            self.settled_at.setdefault(stage_of(e.task_id), time.perf_counter())

    async def _event(self, msg: Msg) -> None:
        now = time.perf_counter()
        e = pb.WorkflowRunChanged.FromString(msg.data)
        if e.HasField("stage"):
            self.transitions += 1
        self.first = self.first or now
        self.last = now
        final = (pb.WORKFLOW_RUN_STATE_SUCCEEDED, pb.WORKFLOW_RUN_STATE_FAILED, pb.WORKFLOW_RUN_STATE_CANCELLED)
        if e.state in final and e.run_id not in self.ended:
            self.ended[e.run_id] = e.state
            if len(self.ended) >= self.expect:
                self.all_ended.set()

    def latencies_ms(self, since: dict[tuple[str, str], float]) -> list[float]:
        """For each stage with needs: its task published − the last of its needs' ``since`` times."""
        out = []
        for (run_id, stage_id), published in self.published_at.items():
            needs = NEEDS.get(stage_id, ())
            dones = [since.get((run_id, n)) for n in needs]
            if needs and all(d is not None for d in dones):
                out.append((published - max(d for d in dones if d is not None)) * 1000)
        return out

    async def stop(self) -> None:
        await self.nc.close()


async def start_runs(stub: Any, n: int, rate: float | None, in_flight: int = 64) -> None:
    """Start ``n`` runs: all at once (64 calls in flight), or ``rate`` a second."""
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with gate:
            req = pb.StartWorkflowRunRequest(workspace_id=WS, workflow="bench", title=f"run {i}", actor="bench")
            await stub.StartWorkflowRun(req)

    if rate is None:
        await asyncio.gather(*(one(i) for i in range(n)))
        return
    started = []
    t0 = time.perf_counter()
    for i in range(n):
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        started.append(asyncio.ensure_future(one(i)))
    await asyncio.gather(*started)


async def phase(
    stub: Any, url: str, bus: Bus, coordinator: ServiceProcess, runs: int, rate: float | None, timeout_s: float
) -> Phase:
    pid = coordinator.proc.pid if coordinator.proc else 0
    observer = Observer(bus)
    await observer.start(url)
    observer.expect = runs
    cpu_before, main_before = cpu_seconds(pid), cpu_seconds(pid, pid)
    trips_before = await store_trips(coordinator.metrics_port, TRIPS)
    started = time.perf_counter()
    try:
        await start_runs(stub, runs, rate)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(observer.all_ended.wait(), timeout_s)
    finally:
        await observer.stop()
    wall = time.perf_counter() - started
    cpu_after, main_after = cpu_seconds(pid), cpu_seconds(pid, pid)
    trips_after = await store_trips(coordinator.metrics_port, TRIPS)
    return Phase(
        runs=runs,
        rate=rate,
        succeeded=sum(1 for s in observer.ended.values() if s == pb.WORKFLOW_RUN_STATE_SUCCEEDED),
        ended=len(observer.ended),
        wall_s=wall,
        transitions=observer.transitions,
        transitions_per_s=observer.transitions / max(observer.last - observer.first, 1e-9),
        settled_ms=observer.latencies_ms(observer.settled_at),
        executed_ms=observer.latencies_ms(observer.done_at),
        cpu_s=(cpu_after - cpu_before) if cpu_after is not None and cpu_before is not None else None,
        main_cpu_s=(main_after - main_before) if main_after is not None and main_before is not None else None,
        trips={kind: _less(trips_after[kind], trips_before[kind]) for kind in TRIPS},
    )


async def bench(url: str, data: Path, args: argparse.Namespace) -> list[Phase]:
    registry = await serve_registry(agents(args.agents_per_role))
    coordinator = coordinator_process(url, data, f"127.0.0.1:{registry.port}", without_store=False)
    coordinator.env["VAPORA_CONFIG_DIR"] = str(ROOT / "config")
    if args.profile:  # the coordinator under cProfile (profiled.py)
        coordinator.argv = [sys.executable, str(PROFILED), args.profile, coordinator.module]
    await coordinator.start(timeout=30)
    bus = Bus(url, "bench-agents")
    await bus.start()
    try:
        async with channel(coordinator.addr, timeout=30) as ch:
            stub = coordinator_pb2_grpc.CoordinatorStub(ch)
            template = pb.WorkflowTemplate(
                name="bench",
                stages=[pb.WorkflowStage(id=sid, role=role, needs=list(needs)) for sid, role, needs in STAGES],
            )
            await stub.CreateWorkflow(pb.CreateWorkflowRequest(workspace_id=WS, workflow=template, actor="bench"))
            phases = [(args.paced_runs, args.rate), (args.runs, None)]
            return [await phase(stub, url, bus, coordinator, n, rate, args.timeout) for n, rate in phases if n > 0]
    finally:
        await bus.stop()
        stop_coordinator(coordinator)
        await registry.stop(0)


def _less(after: tuple[float, float, float], before: tuple[float, float, float]) -> tuple[float, float, float]:
    return after[0] - before[0], after[1] - before[1], after[2] - before[2]


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99, max."""
    if len(values) < 2:
        return (values[0],) * 3 if values else (0.0, 0.0, 0.0)
    q = statistics.quantiles(values, n=100)
    return q[49], q[98], max(values)


FIGURES = Figures("bench_workflows")


def record(p: Phase, settled: tuple[float, float, float], executed: tuple[float, float, float]) -> None:
    """The phase's figures for docs/performance.md (``bench/figures.py``)."""
    phase = f"{p.runs} runs at {p.rate:g}/s" if p.rate else f"{p.runs} runs at once"
    FIGURES.add(f"{phase}: runs completed", p.succeeded, "runs", at_least(p.runs))
    FIGURES.add(f"{phase}: stage transitions", p.transitions_per_s, "/s")
    FIGURES.add(f"{phase}: stage done → successors published, p50", settled[0], "ms")
    FIGURES.add(f"{phase}: stage done → successors published, p99", settled[1], "ms", at_most(50.0))
    # the same from the need's execution published: the coordinator's consuming and settling of it too
    FIGURES.add(f"{phase}: execution published → successors published, p50", executed[0], "ms")
    FIGURES.add(f"{phase}: execution published → successors published, p99", executed[1], "ms")
    if p.cpu_s is not None:
        FIGURES.add(f"{phase}: coordinator CPU per stage change", 1000 * p.cpu_s / max(1, p.transitions), "ms")


def report(p: Phase) -> None:
    settled, executed = _quantiles(p.settled_ms), _quantiles(p.executed_ms)
    record(p, settled, executed)
    how = f"started at {p.rate:g}/s" if p.rate else "started at once"
    print(f"{p.runs} runs {how}, 5-stage template (plan → build → review ∥ test → release), instant agents")
    print(
        f"  runs completed    {p.succeeded} of {p.runs} ({p.ended - p.succeeded} ended otherwise) in {p.wall_s:.1f} s"
    )
    print(f"  transitions       {p.transitions:,} stage changes ({p.transitions_per_s:,.0f}/s)")
    if p.cpu_s is not None:
        per = 1000 * p.cpu_s / max(1, p.transitions)
        print(f"  coordinator CPU   {p.cpu_s:.1f} s ({per:.2f} ms per stage change, assigning and settling included)")
        if p.main_cpu_s is not None:
            main = 1000 * p.main_cpu_s / max(1, p.transitions)
            print(
                f"    its event loop  {p.main_cpu_s:.1f} s ({main:.2f} ms per stage change; the rest: the store"
                f" engine's threads; {p.main_cpu_s / max(p.wall_s, 1e-9):.0%} of the phase's wall time)"
            )
    trips = ", ".join(
        f"{kind} {n:,.0f} ({items / n:.1f} items, {1000 * took / n:.1f} ms each)"
        for kind, (n, items, took) in p.trips.items()
        if n
    )
    print(f"  store round trips {trips}")
    print(
        f"  stage done → successors' tasks published: p50 {settled[0]:.1f} ms, p99 {settled[1]:.1f} ms,"
        f" max {settled[2]:.1f} ms ({len(p.settled_ms):,} stages; done = its task's DONE published)"
    )
    print(
        f"  from its execution published:            p50 {executed[0]:.1f} ms, p99 {executed[1]:.1f} ms,"
        f" max {executed[2]:.1f} ms (the coordinator's settling included)"
    )
    met = p.succeeded == p.runs and bool(p.settled_ms) and settled[1] <= 50.0
    print(f"  target (all complete, p99 ≤ 50 ms): {'met' if met else 'NOT met'}")


async def amain(args: argparse.Namespace) -> None:
    tune_gc(ServiceSettings().gc_young_threshold)
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats").start()
        try:
            phases = await bench(server.url, Path(tmp) / "data", args)
        finally:
            server.stop()
    for p in phases:
        report(p)


def main() -> None:
    ap = argparse.ArgumentParser(description="workflow runs: completion, transitions/s, stage-to-stage latency")
    ap.add_argument("--runs", type=int, default=1000, help="Runs of the burst, started at once.")
    ap.add_argument("--paced-runs", type=int, default=200, help="Runs of the paced phase, before the burst.")
    ap.add_argument("--rate", type=float, default=20.0, help="Runs a second of the paced phase.")
    ap.add_argument("--agents-per-role", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=300.0, help="Give up waiting for the runs after this long.")
    args = ap.parse_args()
    profile = os.environ.get("VAPORA_BENCH_PROFILE", "")  # a file: the coordinator's cProfile stats go there
    args.profile = str(Path(profile).resolve()) if profile else ""
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
