"""A real gateway per test: real nats-server (JetStream), real embedded SurrealDB, loopback HTTP."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

sys.path.append(str(Path(__file__).parent))  # after the dirs tests import conftest from

from gateway_client import Client  # type: ignore[import-not-found]

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc
from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_api_gateway.app import GatewayApp
from vapora_api_gateway.settings import GatewaySettings
from vapora_core.bus import Bus
from vapora_core.errors import InvalidArgument, NotFound
from vapora_core.grpc import GrpcServer
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_testing.apps import started
from vapora_testing.executions import publish_execution

ROOT = Path(__file__).resolve().parents[3]


def settings_for_tests(tmp_path: Path, nats_url: str, store_url: str, **overrides: Any) -> GatewaySettings:
    """A gateway on a free port, fast password hashing, no reachable gRPC dependencies."""
    settings = GatewaySettings(
        nats_url=nats_url,
        store_url=store_url,
        data_dir=tmp_path / "data",
        http_port=0,
        config_dir=ROOT / "config",
        jwt_secret="test-secret-" + "x" * 40,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        registry_addr="127.0.0.1:1",
        coordinator_addr="127.0.0.1:1",
        router_addr="127.0.0.1:1",
        kg_addr="127.0.0.1:1",
        mcp_addr="127.0.0.1:1",
        grpc_timeout_s=2.0,
        shutdown_grace_s=2.0,
    )
    return settings.model_copy(update=overrides)


@pytest.fixture
def gateway_settings(tmp_path: Path, nats_url: str, store_url: str) -> GatewaySettings:
    return settings_for_tests(tmp_path, nats_url, store_url)


GatewayFactory = Callable[..., Awaitable[tuple[GatewayApp, Client]]]


@pytest.fixture
async def gateway_factory(gateway_settings: GatewaySettings) -> AsyncIterator[GatewayFactory]:
    apps: list[GatewayApp] = []
    session = aiohttp.ClientSession()

    async def start(**overrides: Any) -> tuple[GatewayApp, Client]:
        settings = gateway_settings.model_copy(update=overrides)
        app = GatewayApp(settings)
        await app.start()
        app.readiness.set(True)
        apps.append(app)
        return app, Client(session, f"http://127.0.0.1:{app.port}")

    try:
        yield start
    finally:
        for app in apps:
            await app.stop()
        await session.close()


@pytest.fixture
async def gateway(gateway_factory: GatewayFactory) -> tuple[GatewayApp, Client]:
    return await gateway_factory()


@pytest.fixture
def client(gateway: tuple[GatewayApp, Client]) -> Client:
    return gateway[1]


# -- small in-test servicers of the platform's gRPC services, over real loopback --------

AGENTS = [
    agents_pb2.Agent(
        id="coder-1",
        role="developer",
        status=agents_pb2.AGENT_STATUS_HEALTHY,
        max_concurrency=4,
        current_load=1,
        preferred_provider="offline",
        preferred_model="echo-1",
        capabilities=[agents_pb2.Capability(task_type="coding", proficiency=0.9)],
        last_heartbeat=Timestamp(seconds=1_700_000_000),
    ),
    agents_pb2.Agent(
        id="reviewer-1",
        role="reviewer",
        status=agents_pb2.AGENT_STATUS_UNHEALTHY,
        max_concurrency=2,
        current_load=2,
        capabilities=[agents_pb2.Capability(task_type="review", proficiency=0.7)],
    ),
    agents_pb2.Agent(id="private-1", role="developer", workspace_id="someone-else", max_concurrency=1),
]


@dataclass
class Calls:
    list_agents: list[agents_pb2.ListAgentsRequest] = field(default_factory=list)
    budgets: list[llm_pb2.GetBudgetStatusRequest] = field(default_factory=list)
    spend: list[llm_pb2.GetSpendRequest] = field(default_factory=list)
    explain: list[coordinator_pb2.ExplainAssignmentRequest] = field(default_factory=list)
    assignments: dict[str, coordinator_pb2.Assignment] = field(default_factory=dict)
    more_agents: list[agents_pb2.Agent] = field(default_factory=list)  # known to GetAgent and ListAgents besides AGENTS


class Registry(agents_pb2_grpc.AgentRegistryServicer):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def GetAgent(self, request: agents_pb2.GetAgentRequest, context: Any) -> agents_pb2.Agent:
        for a in [*AGENTS, *self.calls.more_agents]:
            if a.id == request.agent_id:
                return a
        raise NotFound(f"agent {request.agent_id} is not registered")

    async def ListAgents(self, request: agents_pb2.ListAgentsRequest, context: Any) -> agents_pb2.ListAgentsResponse:
        self.calls.list_agents.append(request)
        agents = [
            a
            for a in [*AGENTS, *self.calls.more_agents]
            if a.workspace_id in ("", request.workspace_id) or not request.workspace_id
        ]
        agents = [a for a in agents if not request.role or a.role == request.role]
        agents = [
            a
            for a in agents
            if not request.capability or any(c.task_type == request.capability for c in a.capabilities)
        ]
        if request.page_token and not (request.page_token.isascii() and request.page_token.isdigit()):
            raise InvalidArgument(f"page_token {request.page_token!r} is not a token this registry gave out")
        start = int(request.page_token or 0)
        size = request.page_size or 100
        page = agents[start : start + size]
        token = str(start + size) if start + size < len(agents) else ""
        return agents_pb2.ListAgentsResponse(agents=page, next_page_token=token)


class Router(llm_pb2_grpc.LlmRouterServicer):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def GetBudgetStatus(
        self, request: llm_pb2.GetBudgetStatusRequest, context: Any
    ) -> llm_pb2.GetBudgetStatusResponse:
        self.calls.budgets.append(request)
        budgets = [
            llm_pb2.BudgetStatus(
                role="developer",
                state="near_limit",
                windows=[
                    llm_pb2.BudgetWindow(
                        window="monthly",
                        limit_cents=1000,
                        spent_cents=850,
                        reserved_cents=20,
                        utilization=0.87,
                        resets_at=Timestamp(seconds=1_800_000_000),
                    )
                ],
            ),
            llm_pb2.BudgetStatus(
                role="reviewer",
                state="normal",
                windows=[llm_pb2.BudgetWindow(window="weekly", limit_cents=200, spent_cents=10, utilization=0.05)],
            ),
        ]
        return llm_pb2.GetBudgetStatusResponse(
            budgets=[b for b in budgets if not request.role or b.role == request.role]
        )

    async def GetSpend(self, request: llm_pb2.GetSpendRequest, context: Any) -> llm_pb2.GetSpendResponse:
        self.calls.spend.append(request)
        paid = llm_pb2.Spend(provider="anthropic", model="claude-sonnet-4-5", calls=3, input_tokens=900)
        paid.output_tokens, paid.cost_cents = 120, 4.5
        free = llm_pb2.Spend(provider="offline", model="offline", calls=2, input_tokens=40, output_tokens=8)
        return llm_pb2.GetSpendResponse(spend=[paid, free])


class Coordinator(coordinator_pb2_grpc.CoordinatorServicer):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def ExplainAssignment(
        self, request: coordinator_pb2.ExplainAssignmentRequest, context: Any
    ) -> coordinator_pb2.Assignment:
        self.calls.explain.append(request)
        found = self.calls.assignments.get(request.task_id)
        if found is None or found.workspace_id != request.workspace_id:
            raise NotFound(f"no assignment for task {request.task_id}")
        return found


async def start_platform() -> tuple[GrpcServer, Calls]:
    calls = Calls()
    server = GrpcServer(
        "fake-platform",
        "127.0.0.1",
        0,
        [
            (agents_pb2_grpc.add_AgentRegistryServicer_to_server, Registry(calls), "vapora.agents.v1.AgentRegistry"),
            (llm_pb2_grpc.add_LlmRouterServicer_to_server, Router(calls), "vapora.llm.v1.LlmRouter"),
            (
                coordinator_pb2_grpc.add_CoordinatorServicer_to_server,
                Coordinator(calls),
                "vapora.coordinator.v1.Coordinator",
            ),
        ],
    )
    await server.start()
    return server, calls


@pytest.fixture
async def platform() -> AsyncIterator[tuple[str, Calls]]:
    """(address, recorded calls) of a loopback gRPC server with AgentRegistry, LlmRouter and Coordinator."""
    server, calls = await start_platform()
    try:
        yield f"127.0.0.1:{server.port}", calls
    finally:
        await server.stop(0)


@pytest.fixture
async def platform_gateway(gateway_factory: GatewayFactory, platform: tuple[str, Calls]) -> tuple[Client, Calls]:
    addr, calls = platform
    _, client = await gateway_factory(registry_addr=addr, coordinator_addr=addr, router_addr=addr)
    return client, calls


@pytest.fixture
async def learning_gateway(
    gateway_factory: GatewayFactory, platform: tuple[str, Calls], kg_app: KnowledgeGraphApp
) -> tuple[Client, Calls]:
    """:func:`platform_gateway`, with a real knowledge-graph (``kg_app``) behind it."""
    addr, calls = platform
    _, client = await gateway_factory(
        registry_addr=addr, coordinator_addr=addr, router_addr=addr, kg_addr=f"127.0.0.1:{kg_app.grpc_port}"
    )
    return client, calls


# Agents of the roles the shipped workflow templates name (the registry fixture serves them besides AGENTS).
WORKFLOW_ROLES = (
    ("architect", "architect", "architecture"),
    ("developer", "developer", "coding"),
    ("code-reviewer", "code-reviewer", "review"),
    ("tester", "tester", "testing"),
    ("documenter", "documenter", "documentation"),
    ("devops", "devops", "devops"),
)


@pytest.fixture
async def workflow_coordinator(
    platform: tuple[str, Calls], nats_url: str, tmp_path: Path
) -> AsyncIterator[CoordinatorApp]:
    """A real swarm-coordinator in this process (store, bus consumers, gRPC on a free port) whose
    registry is the platform fixture's, with agents of the shipped workflow templates' roles."""
    addr, calls = platform
    calls.more_agents.extend(
        agents_pb2.Agent(
            id=a,
            role=r,
            max_concurrency=4,
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            capabilities=[agents_pb2.Capability(task_type=t)],
        )
        for a, r, t in WORKFLOW_ROLES
    )
    async with started(
        CoordinatorApp(
            CoordinatorSettings(
                nats_url=nats_url,
                store_url=f"surrealkv://{tmp_path / 'coordinator'}",
                grpc_port=0,
                metrics_port=0,
                registry_addr=addr,
                kg_addr="",
                config_dir=ROOT / "config",
                shutdown_grace_s=2.0,
            )
        )
    ) as app:
        yield app


@pytest.fixture
async def fuzz_gateway(
    gateway_factory: GatewayFactory,
    platform: tuple[str, Calls],
    kg_app: KnowledgeGraphApp,
    workflow_coordinator: CoordinatorApp,
    mcp_app: Any,
) -> tuple[Client, Calls]:
    """:func:`learning_gateway`, with a real swarm-coordinator (the workflow routes need one) and a real
    mcp-gateway (``mcp_app``: repositories and diffs) behind it."""
    addr, calls = platform
    _, client = await gateway_factory(
        registry_addr=addr,
        coordinator_addr=f"127.0.0.1:{workflow_coordinator.grpc_port}",
        router_addr=addr,
        kg_addr=f"127.0.0.1:{kg_app.grpc_port}",
        mcp_addr=f"127.0.0.1:{mcp_app.grpc_port}",
    )
    return client, calls


Executed = Callable[[str, str, str, list[bool]], Awaitable[None]]


@pytest.fixture
def executed(bus: Bus) -> Executed:
    """``await executed(agent, task_type, workspace, [success, ...])``: one verified execution per
    outcome, published where agents publish them (quality 0.9 on success, 0.1 on failure, 200 ms, 0.5¢)."""

    async def record(agent: str, task_type: str, ws: str, outcomes: list[bool]) -> None:
        for i, success in enumerate(outcomes):
            await publish_execution(
                bus,
                kg_pb2.ExecutionRecorded(
                    execution_id=f"ex-{agent}-{task_type}-{i}",
                    job_id=f"job-{agent}-{task_type}-{i}",
                    task_id=f"task-{agent}-{task_type}-{i}",
                    workspace_id=ws,
                    agent_id=agent,
                    task_type=task_type,
                    success=success,
                    quality=0.9 if success else 0.1,
                    latency_ms=200,
                    cost_cents=0.5,
                    provider="offline",
                    model="offline-1",
                    verified=True,  # evidence-based outcomes: they count in the profiles
                    finished_at=Timestamp(seconds=int(time.time())),
                ),
            )

    return record
