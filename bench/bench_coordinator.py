"""swarm-coordinator throughput and latency.

    uv run --group bench python bench/bench_coordinator.py [--agents 1000] [--tasks 8000] [--rate 1000]
                                                           [--exec-ms 200] [--without-store]

1. Scoring path, warm: 1,000 healthy agents in the in-memory view, every one capable of the
   task type and with a learning profile, loads 0-3; one assignment =
   ``FleetView.best`` (the seed's score, lazy heap per task type, 10 best kept) + the load update — what
   ``Coordinator.assign`` does.
2. Raw JetStream ceiling, same run: N messages published (256 in flight, acknowledged, through
   the same ``PubAcks`` path the services use) to a work-queue stream while one pull consumer
   fetches and acks them; publish + consume rate, the best of three runs, and its CPU per
   message (this process and nats-server). From that, the CPU budget of a task for the
   end-to-end target (25% of the ceiling with every core busy), in µs and in ceiling messages,
   against what a task of the burst costs.
3. End to end against the same real nats-server: the coordinator as its own process
   (``python -m vapora_swarm_coordinator``: embedded SurrealDB store, priority intake), its
   1,000 agents served by an AgentRegistry over gRPC from this process (ListAgents at cold
   start) and their learning profiles published on ``kg.profiles.changed``. TaskSubmitted is
   published as the gateway does (256 in flight, the messages built before the clock starts);
   the time until each JobAssigned is seen on ``jobs.>`` (a core NATS subscription) gives
   tasks/s.

   - **Publish → JobAssigned** (the target): bursts in which the agents hold their jobs, as
     agents whose jobs take seconds to minutes do, so the coordinator does what the figure
     names and nothing else. The best of three bursts, as the ceiling is the best of three runs;
     the CPU per task of the three (the coordinator, its event loop's thread, nats-server, this harness).
   - **With executions settled**: one more burst in which every job is finished after
     ``--exec-ms`` (200 ms: ExecutionRecorded on ``executions.>``), so the coordinator also
     stores finishes and publishes DONE while it assigns: the assignment rate under that mixed
     load, the rate at which every execution was settled, and the CPU per task (assign +
     finish) of the coordinator, nats-server and this harness, which share the machine.
   - **Latency** p50/p99 at a paced offered load (1,000 tasks/s), jobs finished as above,
     measured first (right after the warm-up); the coordinator's store round trips during it
     are read from its own ``/metrics``.

``--without-store`` runs the coordinator with its assignment writes kept in a dict
(``bench/coordinator_without_store.py``), everything else real: the most any change to the store
could give end to end.

The load generator, the job watcher and the simulated agents share this process; the
coordinator has its own. Prints figures; asserts nothing.

The parts, beside this entry point: ``coordinator_fleet.py`` (the fleet, the scoring path),
``coordinator_ceiling.py`` (the JetStream ceiling), ``coordinator_harness.py`` (the coordinator
process, the registry it is served, what is read from it), ``coordinator_agents.py`` (the job
watcher and the simulated agents), ``coordinator_phases.py`` (warm-up, the paced phase, the
bursts), ``coordinator_report.py`` (the printing), ``coordinator_cpu.py`` (CPU per process).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from coordinator_agents import JobWatch
from coordinator_ceiling import bench_ceiling
from coordinator_fleet import bench_scoring, fleet
from coordinator_harness import coordinator_process, serve_registry, stop_coordinator
from coordinator_phases import E2E, drive
from coordinator_report import FIGURES, print_results

from vapora.kg.v1 import kg_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.lifecycle import tune_gc
from vapora_core.settings import ServiceSettings
from vapora_testing.nats import NatsServer


async def bench_e2e(
    url: str,
    nats_pid: int,
    data: Path,
    n_agents: int,
    n_tasks: int,
    rate: float,
    exec_s: float,
    *,
    without_store: bool = False,
) -> E2E:
    agents, profiles = fleet(n_agents)
    registry = await serve_registry(agents)
    coordinator = coordinator_process(url, data, f"127.0.0.1:{registry.port}", without_store=without_store)
    await coordinator.start(timeout=30)
    pub = Bus(url, "bench-gateway")
    await pub.start()
    watch = JobWatch(pub, exec_s)
    try:
        await pub.publish(subjects.PROFILES_CHANGED, kg_pb2.ProfilesChanged(profiles=profiles))
        await watch.start(url)
        return await drive(pub, watch, coordinator, nats_pid, n_tasks, rate)
    finally:
        await watch.stop()
        await pub.stop()
        stop_coordinator(coordinator)
        await registry.stop(0)


async def amain(args: argparse.Namespace) -> None:
    tune_gc(ServiceSettings().gc_young_threshold)  # this process stands in for services: tuned as they are
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats").start()
        try:
            # the best of three: the ceiling is what JetStream and this client can do at most here
            nats_pid = server.proc.pid if server.proc else 0
            runs = [await bench_ceiling(server.url, nats_pid, args.ceiling_msgs) for _ in range(3)]
            best = max(runs, key=lambda c: c.rate)
            rates = ", ".join(f"{c.rate:,.0f}" for c in runs)
            data = Path(tmp) / "data"
            e2e = await bench_e2e(
                server.url,
                nats_pid,
                data,
                args.agents,
                args.tasks,
                args.rate,
                args.exec_ms / 1000,
                without_store=args.without_store,
            )
        finally:
            server.stop()
    print_results(args, best, rates, e2e)


def main() -> None:
    ap = argparse.ArgumentParser(description="swarm-coordinator throughput and latency")
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=8000, help="Tasks per burst.")
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--ceiling-msgs", type=int, default=20000)
    ap.add_argument("--exec-ms", type=float, default=200.0, help="How long a simulated agent takes per job.")
    ap.add_argument(
        "--without-store",
        action="store_true",
        help="Run the coordinator with its assignment writes in a dict (bench/coordinator_without_store.py).",
    )
    args = ap.parse_args()
    rate = bench_scoring(args.agents)
    print(f"scoring path, {args.agents} agents warm: {rate:,.0f} assignments/s ({1e6 / rate:.0f} µs each)")
    FIGURES.add(f"scoring path, {args.agents} agents warm", rate, "assignments/s")
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
