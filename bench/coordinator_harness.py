"""The coordinator as its own process, and what the bench serves it and reads from it.

``python -m vapora_swarm_coordinator`` (or ``coordinator_without_store.py``) on the bench's NATS;
the AgentRegistry this process serves it (ListAgents at cold start); its store round trips read
from its own ``/metrics``; its choice explained over gRPC.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc
from vapora_core.grpc import GrpcServer, channel
from vapora_core.jobtoken import generate_key_pair
from vapora_testing.process import ServiceProcess, service_env


class Registry(agents_pb2_grpc.AgentRegistryServicer):
    """Serves ListAgents (the coordinator's cold start) and nothing else."""

    def __init__(self, agents: list[agents_pb2.Agent]) -> None:
        self.agents = agents

    async def ListAgents(self, request: Any, context: Any) -> agents_pb2.ListAgentsResponse:
        return agents_pb2.ListAgentsResponse(agents=self.agents)


async def serve_registry(agents: list[agents_pb2.Agent]) -> GrpcServer:
    """An AgentRegistry serving ``agents`` over gRPC on a free port, started."""
    servicer = Registry(agents)  # type: ignore[abstract]
    server = GrpcServer(
        "bench-registry",
        "127.0.0.1",
        0,
        [(agents_pb2_grpc.add_AgentRegistryServicer_to_server, servicer, "vapora.agents.v1.AgentRegistry")],
    )
    await server.start()
    return server


WITHOUT_STORE = Path(__file__).with_name("coordinator_without_store.py")


def coordinator_process(url: str, data: Path, registry_addr: str, *, without_store: bool) -> ServiceProcess:
    """``python -m vapora_swarm_coordinator`` (or ``coordinator_without_store.py``) on this NATS."""
    env = service_env(
        url,
        data,
        VAPORA_REGISTRY_ADDR=registry_addr,
        VAPORA_KG_ADDR="",
        VAPORA_LOG_LEVEL="WARNING",
        VAPORA_JOB_SIGNING_KEY=generate_key_pair()[0],  # every job signed, as in the fleet
    )
    command = [str(WITHOUT_STORE)] if without_store else []
    return ServiceProcess("vapora_swarm_coordinator", env, data, data / "coordinator.log", command=command)


def stop_coordinator(coordinator: ServiceProcess) -> None:
    """SIGTERM it (SIGKILL if it does not stop in time); its log's tail when it did not exit 0."""
    try:
        code: int | None = coordinator.terminate()
    except subprocess.TimeoutExpired:
        coordinator.kill()
        code = None
    if code != 0:
        print(f"coordinator exited with {code}:\n{coordinator.tail()}", file=sys.stderr)


async def store_trips(
    metrics_port: int, kinds: tuple[str, ...] = ("create", "finish")
) -> dict[str, tuple[float, float, float]]:
    """Per kind of store write (create, finish; or ``kinds``): round trips, items and seconds so
    far, read from the coordinator's own metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
    value: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            value[(sample.name, sample.labels.get("kind", ""))] = sample.value
    return {
        kind: (
            value.get(("vapora_coordinator_store_batch_items_count", kind), 0.0),
            value.get(("vapora_coordinator_store_batch_items_sum", kind), 0.0),
            value.get(("vapora_coordinator_store_write_seconds_sum", kind), 0.0),
        )
        for kind in kinds
    }


async def learning_data_decided(addr: str, task_id: str) -> bool:
    async with channel(addr) as ch:
        got = await coordinator_pb2_grpc.CoordinatorStub(ch).ExplainAssignment(
            coordinator_pb2.ExplainAssignmentRequest(task_id=task_id, workspace_id="ws1")
        )
    return bool(got.score.learning_data)
