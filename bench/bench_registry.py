"""ListAgents by capability with 10,000 registered agents, over real gRPC on loopback.

Starts a nats-server and agent-registry in this process (store: embedded surrealkv in a
temporary directory). 9,000 agents are written to the registry's store first and loaded
the way a restarting registry loads them; the last 1,000 are registered through the
Register RPC (each one written through and announced on agents.changed). Then concurrent
clients call ListAgents, and the bench prints calls per second and latency percentiles.

    uv run python bench/bench_registry.py [--agents 10000] [--seconds 4] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from figures import Figures

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_agent_registry.app import RegistryApp
from vapora_agent_registry.repository import NAMESPACE, SCHEMA, AgentRepository
from vapora_agent_registry.settings import RegistrySettings
from vapora_core.grpc import channel
from vapora_core.store import Store
from vapora_testing.nats import NatsServer

TASK_TYPES = [
    "architecture",
    "coding",
    "review",
    "testing",
    "documentation",
    "security",
    "devops",
    "marketing",
    "presentation",
    "monitoring",
    "planning",
    "decision",
]


def agent(i: int) -> agents_pb2.Agent:
    # Every agent codes (the worst case for a capability index); each also takes one other type.
    other = TASK_TYPES[i % len(TASK_TYPES)]
    caps = ["coding"] if other == "coding" else ["coding", other]
    return agents_pb2.Agent(
        id=f"agent-{i:05d}",
        role="developer",
        runtime_id=f"rt-{i % 50}",
        max_concurrency=2,
        capabilities=[agents_pb2.Capability(task_type=t, proficiency=0.5) for t in caps],
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def register_all(stub: agents_pb2_grpc.AgentRegistryAsyncStub, n: int, concurrency: int) -> float:
    queue = iter(range(n))  # ids 0..n-1; the seeded ones follow
    started = time.perf_counter()

    async def worker() -> None:
        for i in queue:
            await stub.Register(agents_pb2.RegisterRequest(agent=agent(i)))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


async def hammer(
    stub: agents_pb2_grpc.AgentRegistryAsyncStub,
    request: agents_pb2.ListAgentsRequest,
    seconds: float,
    concurrency: int,
) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    returned = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal returned
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            reply = await stub.ListAgents(request)
            latencies.append(time.perf_counter() - t0)
            returned = len(reply.agents)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies), latencies, returned


async def seed(store_url: str, ids: range) -> None:
    """Write agents straight into the registry's namespace, as a previous run would have."""
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    try:
        repo = AgentRepository(store)
        now = time.time()
        for start in range(ids.start, ids.stop, 1000):
            batch = []
            for i in range(start, min(start + 1000, ids.stop)):
                a = agent(i)
                a.status = agents_pb2.AGENT_STATUS_HEALTHY
                batch.append((a, now))
            await repo.save(batch, [])
    finally:
        await store.close()


async def main(n: int, seconds: float, concurrency: int) -> None:
    with tempfile.TemporaryDirectory(prefix="vapora-bench-") as tmp:
        nats = NatsServer(Path(tmp) / "js", log_file=Path(tmp) / "nats.log").start()
        store_url = f"surrealkv://{tmp}/registry"
        via_rpc = min(n, 1000)
        t0 = time.perf_counter()
        await seed(store_url, range(via_rpc, n))
        settings = RegistrySettings(
            nats_url=nats.url,
            store_url=store_url,
            grpc_port=0,
            metrics_port=0,
            heartbeat_timeout_s=3600,
            remove_after_s=7200,
            log_level="WARNING",
        )
        app = RegistryApp(settings)
        await app.start()
        print(f"seeded and restored {n - via_rpc} agents in {time.perf_counter() - t0:.1f}s")
        try:
            async with channel(f"127.0.0.1:{app.grpc_port}", timeout=30) as ch:
                stub = agents_pb2_grpc.AgentRegistryStub(ch)
                took = await register_all(stub, via_rpc, 32)
                print(f"registered {via_rpc} agents over gRPC in {took:.1f}s ({via_rpc / took:.0f}/s)")
                total = 0
                token = ""
                while True:
                    page = await stub.ListAgents(agents_pb2.ListAgentsRequest(page_size=1000, page_token=token))
                    total += len(page.agents)
                    token = page.next_page_token
                    if not token:
                        break
                assert total == n, f"expected {n} registered agents, found {total}"
                print(f"{total} agents registered")
                cases = [
                    (
                        "capability=coding (all match), page_size=100",
                        agents_pb2.ListAgentsRequest(capability="coding", page_size=100),
                    ),
                    (
                        "capability=coding status=HEALTHY, page_size=100",
                        agents_pb2.ListAgentsRequest(
                            capability="coding", status=agents_pb2.AGENT_STATUS_HEALTHY, page_size=100
                        ),
                    ),
                    (
                        "capability=security (1/12 match), page_size=100",
                        agents_pb2.ListAgentsRequest(capability="security", page_size=100),
                    ),
                    (
                        "capability=security role=developer, page_size=1000",
                        agents_pb2.ListAgentsRequest(capability="security", role="developer", page_size=1000),
                    ),
                ]
                print(f"{concurrency} concurrent callers, {seconds:.0f}s per case")
                figures = Figures("bench_registry")
                print(f"{'case':55} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'agents':>7}")
                for name, request in cases:
                    await hammer(stub, request, 0.5, concurrency)  # warm-up
                    calls, lat, returned = await hammer(stub, request, seconds, concurrency)
                    print(
                        f"{name:55} {calls / seconds:9.0f} {statistics.median(lat) * 1e3:8.2f} "
                        f"{pct(lat, 99) * 1e3:8.2f} {returned:7d}"
                    )
                    figures.add(f"{name}: calls", calls / seconds, "calls/s")
                    figures.add(f"{name}: p50", statistics.median(lat) * 1e3, "ms")
                    figures.add(f"{name}: p99", pct(lat, 99) * 1e3, "ms")
        finally:
            await app.stop()
            nats.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.agents, args.seconds, args.concurrency))
