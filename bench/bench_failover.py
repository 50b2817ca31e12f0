"""Coordinator failover: the active coordinator SIGKILLed under a steady load, the standby takes over.

    uv run --group bench python bench/bench_failover.py [--rate 100] [--lease-ttl 6] [--ack-wait 30]

Two ``python -m vapora_swarm_coordinator`` processes on one embedded store and a real nats-server
(the second a standby: the coordinator lease, ``vapora_swarm_coordinator/lease.py``); 8 agents served
by an AgentRegistry from this process. The agents are instant: this process sees each JobAssigned (a
core NATS subscription on ``jobs.>``) and publishes its ExecutionRecorded at once. Tasks are
published at ``--rate`` a second for ``--before`` seconds, then the active coordinator is SIGKILLed,
and publishing goes on for the takeover bound and ``--after`` seconds more.

Printed: the time from the kill to the standby holding the lease (its ``vapora_coordinator_lease_held``,
read every 50 ms) and to its first assignment (the first JobAssigned seen after the kill); the
publish → JobAssigned latency before the kill (p50, p99); the tasks delayed (assigned over 1 s after
they were published): how many, p50 and max of their delay, and how many of them the dead one held
(they come back after the ack wait); tasks lost (never DONE) and job messages JetStream stored beyond
one per task (both targets: 0). Defaults are the product's (lease TTL 6 s, ack wait 30 s). Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import nats
from coordinator_harness import coordinator_process, serve_registry, stop_coordinator
from figures import Figures, at_most
from nats.aio.msg import Msg
from prometheus_client.parser import text_string_to_metric_families

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.grpc import check_health
from vapora_swarm_coordinator.lease import takeover_bound_s
from vapora_testing.executions import execution_of, send_execution
from vapora_testing.nats import NatsServer
from vapora_testing.polling import eventually
from vapora_testing.ports import free_port
from vapora_testing.process import ServiceProcess

DELAYED_S = 1.0  # a task assigned later than this after it was published counts as delayed
FIGURES = Figures("bench_failover")


def agents(n: int = 8) -> list[agents_pb2.Agent]:
    return [
        agents_pb2.Agent(
            id=f"agent-{i}",
            role="developer",
            max_concurrency=64,
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            capabilities=[agents_pb2.Capability(task_type="coding")],
        )
        for i in range(n)
    ]


class Observer:
    """The instant agents, and when each task was published, assigned and done."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.published: dict[str, float] = {}
        self.assigned: dict[str, float] = {}
        self.jobs: Counter[str] = Counter()
        self.done: set[str] = set()
        self._pending: set[asyncio.Future[Any]] = set()
        self.nc: Any = None

    async def start(self, url: str) -> None:
        self.nc = await nats.connect(url)
        await self.nc.subscribe("jobs.>", cb=self._job)
        await self.nc.subscribe("events.task.>", cb=self._status)

    async def _job(self, msg: Msg) -> None:
        job = pb.JobAssigned.FromString(msg.data)
        self.assigned.setdefault(job.task.id, time.perf_counter())
        self.jobs[job.task.id] += 1
        e = execution_of(job, success=True, quality=0.9, latency_ms=0, result="ok")
        future = await send_execution(self.bus, e)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    async def _status(self, msg: Msg) -> None:
        e = tasks_pb2.TaskStatusChanged.FromString(msg.data)
        if e.state == common_pb2.TASK_STATE_DONE:
            self.done.add(e.task_id)

    async def stop(self) -> None:
        if self._pending:
            await asyncio.wait(self._pending, timeout=10)
        if self.nc is not None:
            await self.nc.close()


async def publish_for(bus: Bus, observer: Observer, rate: float, seconds: float) -> None:
    """Publish tasks at ``rate`` a second for ``seconds``."""
    start = time.perf_counter()
    n = 0
    while (now := time.perf_counter()) - start < seconds:
        due = int((now - start) * rate) + 1
        for _ in range(due - n):
            t = tasks_pb2.Task(
                id=uuid.uuid4().hex, workspace_id="bench-ws", task_type="coding", priority=common_pb2.PRIORITY_NORMAL
            )
            observer.published[t.id] = time.perf_counter()
            await bus.publish(subjects.task("coding", "normal"), tasks_pb2.TaskSubmitted(task=t), msg_id=t.id)
        n = due
        await asyncio.sleep(0.005)


def lease_held(metrics_port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as resp:
        text = resp.read().decode()
    return any(
        s.name == "vapora_coordinator_lease_held" and s.value == 1
        for family in text_string_to_metric_families(text)
        for s in family.samples
    )


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99, max."""
    if len(values) < 2:
        return (values[0],) * 3 if values else (float("nan"),) * 3
    q = statistics.quantiles(values, n=100)
    return q[49], q[98], max(values)


async def bench(url: str, data: Path, args: argparse.Namespace) -> None:
    registry = await serve_registry(agents())
    active = coordinator_process(url, data, f"127.0.0.1:{registry.port}", without_store=False)
    active.env.update(VAPORA_LEASE_TTL_S=str(args.lease_ttl), VAPORA_ACK_WAIT_S=str(args.ack_wait))
    ports = {"VAPORA_GRPC_PORT": str(free_port()), "VAPORA_METRICS_PORT": str(free_port())}
    standby = ServiceProcess("vapora_swarm_coordinator", {**active.env, **ports}, data, data / "standby.log")
    bus = Bus(url, "bench-agents")
    await bus.start()
    observer = Observer(bus)
    await observer.start(url)
    try:
        await active.start(timeout=30)
        standby.spawn()

        async def standing_by() -> bool:
            return await check_health(standby.addr)

        await eventually(standing_by, timeout=30, interval=0.1, what="the standby's gRPC")
        await publish_for(bus, observer, args.rate, args.before)
        assert active.proc is not None
        killed = time.perf_counter()
        active.kill()
        before = dict(observer.assigned)
        publishing = asyncio.ensure_future(
            publish_for(bus, observer, args.rate, takeover_bound_s(args.lease_ttl) + args.after)
        )

        async def holds() -> bool:
            return await asyncio.to_thread(lease_held, standby.metrics_port)

        await eventually(holds, timeout=takeover_bound_s(args.lease_ttl) + 30, interval=0.05, what="the lease")
        lease_s = time.perf_counter() - killed
        await publishing
        with contextlib.suppress(AssertionError):
            await eventually(
                lambda: observer.done >= set(observer.published),
                timeout=args.ack_wait + 60,
                interval=0.1,
                what="every task done",
            )
        stored = (await bus.js.stream_info("JOBS")).state.last_seq
    finally:
        await observer.stop()
        await bus.stop()
        for p in (active, standby):
            if p.proc is not None and p.proc.poll() is None:
                stop_coordinator(p)
        await registry.stop(0)
    report(observer, before, killed, lease_s, stored, args)


def report(
    observer: Observer, before: dict[str, float], killed: float, lease_s: float, stored: int, args: argparse.Namespace
) -> None:
    after = sorted(t for tid, t in observer.assigned.items() if tid not in before and t > killed)
    first_s = after[0] - killed if after else float("nan")
    latency = {tid: observer.assigned[tid] - observer.published[tid] for tid in observer.assigned}
    base = quantiles([1000 * latency[tid] for tid in before])
    delayed = {tid: s for tid, s in latency.items() if s > DELAYED_S}
    held = [
        tid
        for tid in delayed
        if observer.published[tid] < killed and observer.assigned[tid] >= killed + 0.8 * args.ack_wait
    ]
    d50, _, dmax = quantiles(list(delayed.values()))
    lost = len(set(observer.published) - observer.done)
    extra = max(0, stored - len(observer.published))
    bound = takeover_bound_s(args.lease_ttl)
    n = len(observer.published)
    print(
        f"coordinator failover: {n:,} tasks at {args.rate:g}/s, the active one SIGKILLed after {args.before:g} s;"
        f" lease TTL {args.lease_ttl:g} s (takeover bound {bound:.1f} s), ack wait {args.ack_wait:g} s"
    )
    print(f"  kill → the standby holds the lease   {lease_s:.2f} s")
    print(f"  kill → its first assignment          {first_s:.2f} s (store opened, load restored, registry read)")
    print(f"  publish → JobAssigned before the kill p50 {base[0]:.1f} ms, p99 {base[1]:.1f} ms")
    print(
        f"  tasks delayed (assigned > {DELAYED_S:g} s after publish) {len(delayed):,} of {n:,}:"
        f" p50 {d50:.2f} s, max {dmax:.2f} s; {len(held):,} of them held by the dead one (back after the ack wait)"
    )
    print(f"  tasks lost {lost}, job messages stored beyond one per task {extra}")
    FIGURES.add("kill → standby holds the lease", lease_s, "s", at_most(bound))
    FIGURES.add("kill → first assignment by the standby", first_s, "s")
    FIGURES.add("tasks delayed (assigned > 1 s after publish)", len(delayed), "tasks")
    FIGURES.add("delay of a delayed task, p50", d50, "s")
    FIGURES.add("delay of a delayed task, max", dmax, "s")
    FIGURES.add("delayed tasks the dead one held (back after the ack wait)", len(held), "tasks")
    FIGURES.add("tasks lost", lost, "tasks", at_most(0))
    FIGURES.add("job messages beyond one per task", extra, "messages", at_most(0))


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats").start()
        try:
            await bench(server.url, Path(tmp) / "data", args)
        finally:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description="coordinator failover: takeover time and tasks delayed")
    ap.add_argument("--rate", type=float, default=100.0, help="Tasks published a second.")
    ap.add_argument("--before", type=float, default=3.0, help="Seconds of load before the kill.")
    ap.add_argument("--after", type=float, default=2.0, help="Seconds of load after the takeover bound.")
    ap.add_argument("--lease-ttl", type=float, default=6.0, help="VAPORA_LEASE_TTL_S of both coordinators.")
    ap.add_argument("--ack-wait", type=float, default=30.0, help="VAPORA_ACK_WAIT_S of both coordinators.")
    asyncio.run(amain(ap.parse_args()))


if __name__ == "__main__":
    main()
