"""Fixtures of the runtime's integration tests.

- ``registry``: the real agent-registry as a subprocess (real nats-server, real SurrealDB).
- ``router``: a small in-test LlmRouter gRPC servicer standing in for llm-router (our own
  service, not a paid API), which can hold, fail or answer each task's calls.
- ``mcp``: an in-test McpGateway servicer answering ``ListCatalogue`` (and a job's ``ListTools``)
  with the tools the shipped manifests name, so the runtime's start-up check passes without
  starting every MCP server; the check against the real gateway is in test_tool_check.py and
  tests/contract.
- ``spawn_runtime``: ``python -m vapora_agent_runtime`` as a subprocess.
- ``executions`` / ``dead_letters``: what the runtime published.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora.tasks.v1 import tasks_pb2
from vapora_agent_runtime.manifest import load_manifests
from vapora_core import errors
from vapora_core.bus import Bus, Delivery, subjects
from vapora_core.bus.topology import ConsumerSpec
from vapora_core.grpc import GrpcServer, channel
from vapora_testing.polling import eventually, eventually_sync
from vapora_testing.ports import free_port
from vapora_testing.process import ready

sys.path.append(str(Path(__file__).parent))  # after the dirs tests import conftest from

ROOT = Path(__file__).resolve().parents[3]
HEARTBEAT_TIMEOUT_S = 1.5


class StandInRouter(llm_pb2_grpc.LlmRouterServicer):
    """Answers Complete like the offline provider; per task: hold the first call, or fail n times."""

    def __init__(self) -> None:
        self.calls: list[llm_pb2.CompleteRequest] = []
        self.hold_first: set[str] = set()
        self.fail: dict[str, tuple[int, errors.VaporaError]] = {}
        self.arrived: dict[str, asyncio.Event] = {}

    def arrival(self, task_id: str) -> asyncio.Event:
        return self.arrived.setdefault(task_id, asyncio.Event())

    async def Complete(self, request: llm_pb2.CompleteRequest, context: Any) -> llm_pb2.CompleteResponse:
        """One final answer per job (no tool calls), as the offline provider gives without tools."""
        self.calls.append(request)
        self.arrival(request.task_id).set()
        if request.task_id in self.hold_first:
            self.hold_first.discard(request.task_id)
            await asyncio.Event().wait()  # until the caller goes away
        times, error = self.fail.get(request.task_id, (0, errors.Unavailable("")))
        if times > 0:
            self.fail[request.task_id] = (times - 1, error)
            raise error
        title = request.messages[0].content.splitlines()[1].removeprefix("Title: ")
        return llm_pb2.CompleteResponse(
            text=f"Done: {title}. The work product for {title} follows, step by step.",
            provider="offline",
            model="offline-echo",
            input_tokens=42,
            output_tokens=17,
            cost_cents=0.0,
            latency_ms=3,
            finish_reason="stop",
        )


@pytest.fixture
async def router() -> AsyncIterator[tuple[StandInRouter, str]]:
    servicer = StandInRouter()
    server = GrpcServer(
        "llm-router-stand-in",
        "127.0.0.1",
        0,
        [(llm_pb2_grpc.add_LlmRouterServicer_to_server, servicer, "vapora.llm.v1.LlmRouter")],
    )
    await server.start()
    yield servicer, f"127.0.0.1:{server.port}"
    await server.stop(0)


class StandInMcp(mcp_pb2_grpc.McpGatewayServicer):
    """ListCatalogue: every tool the repo's manifests allow, on servers that have listed them;
    ListTools (a job's view): the same tools. The stand-in router never calls one; the loop
    against the real gateway and MCP servers is test_loop_stack.py's.

    A synchronous gRPC server on its own threads: runtimes are started with a blocking wait,
    during which it must answer their start-up check."""

    def __init__(self) -> None:
        names = {t for m in load_manifests(ROOT / "config" / "agents") for t in m.allowed_tools}
        self.tools = [mcp_pb2.Tool(server=n.partition(".")[0], name=n.partition(".")[2], available=True) for n in names]
        self.servers = sorted({t.server for t in self.tools})

    def ListTools(self, request: mcp_pb2.ListToolsRequest, context: Any) -> mcp_pb2.ListToolsResponse:
        return mcp_pb2.ListToolsResponse(tools=self.tools)

    def ListCatalogue(self, request: mcp_pb2.ListCatalogueRequest, context: Any) -> mcp_pb2.ListCatalogueResponse:
        return mcp_pb2.ListCatalogueResponse(
            tools=self.tools,
            servers=[mcp_pb2.CatalogueServer(name=s, scope="shared", tools_known=True) for s in self.servers],
        )


@pytest.fixture
def mcp() -> Iterator[tuple[StandInMcp, str]]:
    servicer = StandInMcp()
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    mcp_pb2_grpc.add_McpGatewayServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(0)


def _ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> bool:
    if proc.poll() is not None:
        raise RuntimeError(f"exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
    return ready(port)


@dataclass
class Procs:
    tmp: Path
    nats_url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, module: str, name: str, env: dict[str, str], *, wait: bool = True) -> subprocess.Popen[bytes]:
        ops = free_port()
        full = {k: v for k, v in os.environ.items() if not k.startswith("VAPORA_")}
        full.update(
            {
                "VAPORA_NATS_URL": self.nats_url,
                "VAPORA_DATA_DIR": str(self.tmp / "data"),
                "VAPORA_METRICS_PORT": str(ops),
                "VAPORA_SHUTDOWN_GRACE_S": "3",
                "PYTHONUNBUFFERED": "1",
            }
        )
        full.update(env)
        log = self.tmp / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", module], env=full, stdout=out, stderr=subprocess.STDOUT, cwd=str(self.tmp)
            )
        proc.log = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        if wait:
            eventually_sync(lambda: _ready(ops, proc, log), timeout=60, what=f"{name} to be ready", interval=0.1)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def procs(tmp_path: Path, nats_url: str) -> Iterator[Procs]:
    p = Procs(tmp_path, nats_url)
    try:
        yield p
    finally:
        p.stop_all()


@pytest.fixture
def registry(procs: Procs) -> str:
    port = free_port()
    procs.spawn(
        "vapora_agent_registry",
        "agent-registry",
        {
            "VAPORA_GRPC_PORT": str(port),
            "VAPORA_HEARTBEAT_TIMEOUT_S": str(HEARTBEAT_TIMEOUT_S),
            "VAPORA_REMOVE_AFTER_S": "60",
            "VAPORA_SWEEP_INTERVAL_S": "0.2",
        },
    )
    return f"127.0.0.1:{port}"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A temporary copy of the repo's config/ the test may change."""
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


@pytest.fixture
def spawn_runtime(
    procs: Procs, registry: str, router: tuple[StandInRouter, str], mcp: tuple[StandInMcp, str]
) -> Callable[..., subprocess.Popen[bytes]]:
    def spawn(config_dir: Path, runtime_id: str, *, wait: bool = True, **env: str) -> subprocess.Popen[bytes]:
        return procs.spawn(
            "vapora_agent_runtime",
            runtime_id,
            {
                "VAPORA_CONFIG_DIR": str(config_dir),
                "VAPORA_RUNTIME_ID": runtime_id,
                "VAPORA_REGISTRY_ADDR": registry,
                "VAPORA_ROUTER_ADDR": router[1],
                "VAPORA_MCP_ADDR": mcp[1],
                "VAPORA_HEARTBEAT_INTERVAL_S": "0.3",
                "VAPORA_REGISTRY_CHECK_INTERVAL_S": "1",
                "VAPORA_JOB_ACK_WAIT_S": "2",
                **env,
            },
            wait=wait,
        )

    return spawn


@pytest.fixture
async def executions(bus: Bus) -> list[kg_pb2.ExecutionRecorded]:
    got: list[kg_pb2.ExecutionRecorded] = []

    async def on_execution(msg: kg_pb2.ExecutionRecorded, _: Delivery) -> None:
        got.append(msg)

    spec = ConsumerSpec(durable="test-executions", stream="EXECUTIONS", filter_subjects=("executions.>",))
    await bus.subscribe(spec, kg_pb2.ExecutionRecorded, on_execution)
    return got


async def dead_letters(bus: Bus, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, str]]]:
    """At least ``count`` dead letters (subject, headers), each acked once read."""
    sub = await bus.js.pull_subscribe("dlq.>", durable="test-dlq", stream="DLQ")
    got: list[tuple[str, dict[str, str]]] = []

    async def fetched() -> list[tuple[str, dict[str, str]]]:
        try:
            msgs = await sub.fetch(10, timeout=0.3)
        except TimeoutError:
            msgs = []
        for m in msgs:
            got.append((m.subject, dict(m.headers or {})))
            await m.ack()
        return got

    return await eventually(
        fetched, timeout=timeout, interval=0, what=f"{count} dead letters", until=lambda letters: len(letters) >= count
    )


def make_job(
    job_id: str, agent_id: str, task_id: str, title: str, task_type: str = "coding"
) -> coordinator_pb2.JobAssigned:
    return coordinator_pb2.JobAssigned(
        job_id=job_id,
        agent_id=agent_id,
        attempt=1,
        task=tasks_pb2.Task(id=task_id, workspace_id="ws-1", title=title, task_type=task_type),
    )


async def publish_job(bus: Bus, job: coordinator_pb2.JobAssigned) -> None:
    await bus.publish(subjects.job(job.agent_id), job, msg_id=job.job_id)


async def list_agents(registry: str, **filters: Any) -> list[agents_pb2.Agent]:
    async with channel(registry) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        try:
            reply = await stub.ListAgents(agents_pb2.ListAgentsRequest(**filters))
        except grpc.RpcError as exc:
            raise AssertionError(f"ListAgents failed: {exc}") from exc
        return list(reply.agents)


@pytest.fixture
def helpers() -> Any:
    class H:
        pass

    h = H()
    h.make_job = make_job  # type: ignore[attr-defined]
    h.publish_job = publish_job  # type: ignore[attr-defined]
    h.list_agents = list_agents  # type: ignore[attr-defined]
    h.dead_letters = dead_letters  # type: ignore[attr-defined]
    return h
