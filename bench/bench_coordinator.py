"""swarm-coordinator throughput and latency.

    uv run --group bench python bench/bench_coordinator.py [--agents 1000] [--tasks 4000] [--rate 1000]

1. Scoring path, warm: 1,000 healthy agents in the in-memory view, every one capable of the
   task type and with a learning profile, loads 0-3; one assignment = the capable filter +
   ``FleetView.best`` (the seed's score, bounded walk, 10 best kept) + the load update — what
   ``Coordinator.assign`` does.
2. Raw JetStream ceiling, same run: nats-py publishes N messages (256 in flight) to a
   work-queue stream while one pull consumer fetches and acks them; publish + consume rate.
3. End to end against the same real nats-server: the whole CoordinatorApp in this process
   (embedded SurrealDB store, priority intake, warm 1,000-agent view), TaskSubmitted published
   as the gateway does (256 in flight), time until each JobAssigned is seen on ``jobs.>``
   (a core NATS subscription): tasks/s, and p50/p99 latency at a paced offered load.

Everything runs in one Python process on the same loop as the load generator, so the e2e
figure includes the generator's own cost — as does the ceiling. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import nats
from nats.js import api as js_api

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.state import FleetView
from vapora_testing.nats import NatsServer

TASK_TYPE = "coding"
IN_FLIGHT = 256


def fleet(n: int) -> tuple[list[agents_pb2.Agent], list[kg_pb2.LearningProfile]]:
    agents = [
        agents_pb2.Agent(
            id=f"agent-{i:04d}",
            role="developer",
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            max_concurrency=0,
            capabilities=[agents_pb2.Capability(task_type=t) for t in (TASK_TYPE, "review")],
        )
        for i in range(n)
    ]
    profiles = [
        kg_pb2.LearningProfile(
            agent_id=a.id,
            task_type=TASK_TYPE,
            success_rate=0.5 + (i % 50) / 100,
            expertise=0.4 + (i % 37) / 100,
            confidence=min(1.0, (i % 25) / 20),
            executions=1 + i % 25,
        )
        for i, a in enumerate(agents)
    ]
    return agents, profiles


def warm_view(n: int) -> FleetView:
    view = FleetView()
    agents, profiles = fleet(n)
    view.set_agents(agents)
    for p in profiles:
        view.set_profile(p)
    for i, a in enumerate(agents):
        view.add_load(a.id, i % 4)
    return view


def bench_scoring(n_agents: int, seconds: float = 3.0) -> float:
    view = warm_view(n_agents)
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(20):
            if not view.capable(TASK_TYPE, "ws1"):
                raise RuntimeError("no capable agent")
            chosen, _ = view.best(TASK_TYPE, "ws1", 10)[0]
            view.add_load(chosen.agent_id, 1)
            view.add_load(chosen.agent_id, -1)
        done += 20
    return done / elapsed


async def bench_ceiling(url: str, n: int) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(
        js_api.StreamConfig(
            name="BENCH",
            subjects=["bench.>"],
            retention=js_api.RetentionPolicy.WORK_QUEUE,
            storage=js_api.StorageType.FILE,
        )
    )
    psub = await js.pull_subscribe("bench.>", durable="bench", stream="BENCH")
    payload = b"x" * 200
    consumed = 0

    async def consume() -> None:
        nonlocal consumed
        while consumed < n:
            try:
                msgs = await psub.fetch(batch=256, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for m in msgs:
                await m.ack()
            consumed += len(msgs)

    async def publish() -> None:
        sem = asyncio.Semaphore(IN_FLIGHT)

        async def one(i: int) -> None:
            async with sem:
                await js.publish(f"bench.{i % 16}", payload, headers={"Nats-Msg-Id": f"m{i}"})

        await asyncio.gather(*(one(i) for i in range(n)))

    started = time.perf_counter()
    await asyncio.gather(publish(), consume())
    elapsed = time.perf_counter() - started
    await js.delete_stream("BENCH")
    await nc.close()
    return n / elapsed


class JobWatch:
    """Sees every JobAssigned as JetStream stores it (a core subscription on jobs.>)."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.all_seen = asyncio.Event()
        self.expect = 0

    async def start(self, url: str) -> None:
        self.nc = await nats.connect(url)

        async def on_msg(msg: nats.aio.msg.Msg) -> None:
            now = time.perf_counter()
            job_id = (msg.headers or {}).get("Nats-Msg-Id", "")
            task_id = job_id[4:].rsplit("-", 1)[0]  # job-<task>-<attempt>
            self.seen.setdefault(task_id, now)
            if len(self.seen) >= self.expect:
                self.all_seen.set()

        await self.nc.subscribe("jobs.>", cb=on_msg)

    def reset(self, expect: int) -> None:
        self.seen.clear()
        self.expect = expect
        self.all_seen.clear()


def task_msg(i: int, run: str) -> tasks_pb2.TaskSubmitted:
    return tasks_pb2.TaskSubmitted(
        task=tasks_pb2.Task(id=f"{run}{i:06d}", workspace_id="ws1", task_type=TASK_TYPE, title=f"task {i}")
    )


async def bench_e2e(url: str, data: Path, n_agents: int, n_tasks: int, rate: float) -> tuple[float, list[float], int]:
    settings = CoordinatorSettings(
        nats_url=url, data_dir=data, grpc_port=0, metrics_port=0, registry_addr="", kg_addr="", shutdown_grace_s=2
    )
    app = CoordinatorApp(settings)
    await app.start()
    assert app.coordinator is not None
    agents, profiles = fleet(n_agents)
    app.coordinator.view.set_agents(agents)
    for p in profiles:
        app.coordinator.view.set_profile(p)
    pub = Bus(url, "bench-gateway")
    await pub.start()
    watch = JobWatch()
    await watch.start(url)
    subject = subjects.task(TASK_TYPE, "normal")
    sent: dict[str, float] = {}

    async def send(msg: tasks_pb2.TaskSubmitted) -> None:
        sent[msg.task.id] = time.perf_counter()
        await pub.publish(subject, msg, msg_id=msg.task.id)

    # warm-up (store, JIT-free paths, consumers) — not measured
    watch.reset(200)
    await asyncio.gather(*(send(task_msg(i, "w")) for i in range(200)))
    await asyncio.wait_for(watch.all_seen.wait(), 60)

    # throughput: publish as fast as the gateway could (IN_FLIGHT at once)
    watch.reset(n_tasks)
    sem = asyncio.Semaphore(IN_FLIGHT)

    async def bounded(msg: tasks_pb2.TaskSubmitted) -> None:
        async with sem:
            await send(msg)

    started = time.perf_counter()
    await asyncio.gather(*(bounded(task_msg(i, "t")) for i in range(n_tasks)))
    await asyncio.wait_for(watch.all_seen.wait(), 120)
    throughput = n_tasks / (time.perf_counter() - started)

    # latency at a paced offered load
    n_paced = int(rate * 3)
    watch.reset(n_paced)
    pending: list[asyncio.Task[None]] = []
    t0 = time.perf_counter()
    for i in range(n_paced):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(send(task_msg(i, "p"))))
    await asyncio.gather(*pending)
    achieved = n_paced / (time.perf_counter() - t0)
    await asyncio.wait_for(watch.all_seen.wait(), 60)
    latencies = sorted(watch.seen[t] - sent[t] for t in watch.seen if t.startswith("p"))
    await watch.nc.close()
    await pub.stop()
    await app.stop()
    return throughput, latencies, round(achieved)


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


async def amain(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats").start()
        try:
            ceiling = await bench_ceiling(server.url, args.ceiling_msgs)
            data = Path(tmp) / "data"
            throughput, lat, achieved = await bench_e2e(server.url, data, args.agents, args.tasks, args.rate)
        finally:
            server.stop()
    print(
        f"raw JetStream publish+consume (ceiling): {ceiling:,.0f} msg/s "
        f"({args.ceiling_msgs} msgs, {IN_FLIGHT} in flight)"
    )
    print(
        f"end to end publish → JobAssigned:        {throughput:,.0f} tasks/s "
        f"({args.tasks} tasks, {args.agents} agents warm) = {100 * throughput / ceiling:.0f}% of the ceiling"
        " (target ≥ 25%)"
    )
    print(
        f"latency at {args.rate:.0f} tasks/s offered ({achieved} achieved, {len(lat)} tasks): "
        f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms (target p99 ≤ 50 ms)"
    )
    print(f"mean {statistics.fmean(lat) * 1000:.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description="swarm-coordinator throughput and latency")
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=4000)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--ceiling-msgs", type=int, default=20000)
    args = ap.parse_args()
    rate = bench_scoring(args.agents)
    print(f"scoring path, {args.agents} agents warm: {rate:,.0f} assignments/s ({1e6 / rate:.0f} µs each)")
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
