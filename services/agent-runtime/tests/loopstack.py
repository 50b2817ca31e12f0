"""The loop's whole path in one process, every part real: agent-runtime → llm-router (keyed to the
local fake providers, which speak each provider's wire format over HTTP) → mcp-gateway → real MCP
servers over stdio; steps, usage and executions into the knowledge graph, over real nats-server,
embedded SurrealDB and gRPC on loopback.

MCP servers: ``workspace`` (files under the gateway's data dir), ``sysinfo`` (a 1 s deadline,
for a tool that hangs) and ``bulk`` (answers as big as asked).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora.tasks.v1 import tasks_pb2
from vapora_agent_runtime.app import RuntimeApp
from vapora_agent_runtime.settings import RuntimeSettings
from vapora_core.bus import Bus, subjects
from vapora_core.grpc import channel
from vapora_core.jobtoken import JobClaims, JobSigner, generate_key_pair
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_knowledge_graph.settings import KgSettings
from vapora_llm_router.app import RouterApp
from vapora_llm_router.settings import RouterSettings
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings
from vapora_testing import mcp_servers
from vapora_testing.fake_providers import KEY, FakeProviders
from vapora_testing.polling import eventually
from vapora_testing.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ("workspace.*", "sysinfo.*", "bulk.emit")
BULK = Path(__file__).with_name("mcp_bulk.py")
MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o", "gemini": "gemini-2.0-flash", "ollama": "llama3.1"}
README = "# Demo\nVapora workspace for tests.\n"

MCP = mcp_servers.workspace() + mcp_servers.sysinfo(timeout_s=1) + mcp_servers.server("bulk", [str(BULK)])


def manifest(provider: str, limits: str = "", role: str = "developer") -> str:
    return f'''
id = "looper"
role = "{role}"
preferred_provider = "{provider}"
preferred_model = "{MODELS[provider]}"
max_concurrency = 2
allowed_tools = {json.dumps(list(TOOLS))}
system_prompt = "You are a developer who reads before answering."
capabilities = ["loopwork"]  # no routing rule of config/router.toml matches: the preference decides
{limits}
'''


def job(signer: JobSigner, task_id: str, title: str = "Read the README") -> coordinator_pb2.JobAssigned:
    """A job of the looper, with the token the coordinator would sign for it."""
    job_id = f"job-{task_id}"
    claims = JobClaims.issue(
        agent_id="looper",
        role="developer",
        workspace_id="ws-loop",
        task_id=task_id,
        job_id=job_id,
        lifetime_s=300,
        tools=TOOLS,
    )
    return coordinator_pb2.JobAssigned(
        job_id=job_id,
        agent_id="looper",
        attempt=1,
        task=tasks_pb2.Task(id=task_id, workspace_id="ws-loop", title=title, task_type="loopwork"),
        token=signer.sign(claims),
    )


@dataclass
class Stack:
    fake: FakeProviders
    bus: Bus
    runtime: RuntimeApp
    kg: kg_pb2_grpc.KnowledgeGraphStub
    data_dir: Path
    signer: JobSigner

    async def run(self, task_id: str, title: str = "Read the README", timeout: float = 30.0) -> kg_pb2.GetStepsResponse:
        """Publish a job of the task for the looper; its transcript once its execution is stored."""
        await self.bus.publish(subjects.job("looper"), job(self.signer, task_id, title), msg_id=f"job-{task_id}")
        return await self.finished(task_id, timeout)

    async def finished(self, task_id: str, timeout: float = 30.0) -> kg_pb2.GetStepsResponse:
        def whole(reply: kg_pb2.GetStepsResponse) -> bool:
            return reply.HasField("execution") and len(reply.steps) == reply.execution.steps

        reply: kg_pb2.GetStepsResponse = await eventually(
            lambda: self.steps(task_id), timeout=timeout, what=f"a whole transcript of task {task_id}", until=whole
        )
        return reply

    async def costs(
        self, task_id: str, ok: Callable[[kg_pb2.GetStepsResponse], bool], timeout: float = 15.0
    ) -> kg_pb2.GetStepsResponse:
        """The transcript once ``ok`` holds for it (usage reaches the knowledge graph on its own path)."""
        reply: kg_pb2.GetStepsResponse = await eventually(
            lambda: self.steps(task_id), timeout=timeout, what=f"the costs of task {task_id} linked", until=ok
        )
        return reply

    async def steps(self, task_id: str) -> kg_pb2.GetStepsResponse:
        reply: kg_pb2.GetStepsResponse = await self.kg.GetSteps(
            kg_pb2.GetStepsRequest(workspace_id="ws-loop", task_id=task_id)
        )
        return reply


StackFactory = Callable[..., Awaitable[Stack]]


async def stack_factory(tmp_path: Path, nats_url: str) -> AsyncIterator[StackFactory]:
    """``await make(provider, stream=False, limits="", role="developer")``: the whole path, stopped
    at teardown. ``role`` "developer" has a budget in config/budget.toml; a role not there has none."""
    apps: list[Any] = []
    fake = FakeProviders()
    await fake.start()
    bus = Bus(nats_url, "loop-test", graceful_timeout=2.0)
    await bus.start()
    signing_key, verify_key = generate_key_pair()

    async def make(
        provider: str = "anthropic", *, stream: bool = False, limits: str = "", role: str = "developer", **runtime: Any
    ) -> Stack:
        config = tmp_path / "config"
        (config / "agents").mkdir(parents=True, exist_ok=True)
        for name in ("router.toml", "budget.toml", "prices.toml"):
            shutil.copy(ROOT / "config" / name, config / name)
        (config / "mcp.toml").write_text(MCP)
        (config / "agents" / "looper.toml").write_text(manifest(provider, limits, role))
        data = tmp_path / "data"
        (data / "workspace" / "src").mkdir(parents=True, exist_ok=True)
        (data / "workspace" / "README.md").write_text(README)
        (data / "workspace" / "src" / "app.py").write_text("print('hello vapora')\n")
        (data / "secret.txt").write_text("outside the root")
        common: dict[str, Any] = {"nats_url": nats_url, "shutdown_grace_s": 1.0, "metrics_port": 0}

        keys: dict[str, Any] = {f"{p}_base_url": fake.url for p in MODELS}
        keys.update({f"{p}_api_key": KEY for p in ("anthropic", "openai", "gemini")})
        router = RouterApp(
            RouterSettings(
                _env_file=None,  # type: ignore[call-arg]
                config_dir=config,
                store_url=f"surrealkv://{tmp_path / 'router'}",
                grpc_port=0,
                provider_timeout_s=10.0,
                usage_flush_s=0.05,
                **keys,
                **common,
            )
        )
        mcp = McpApp(
            McpSettings(
                config_dir=config,
                data_dir=data,
                store_url=f"surrealkv://{tmp_path / 'mcp'}",
                grpc_port=0,
                mcp_http_port=0,
                job_verify_key=verify_key,
                **common,
            )
        )
        kg = KnowledgeGraphApp(KgSettings(store_url=f"surrealkv://{tmp_path / 'kg'}", grpc_port=0, **common))
        for app in (router, mcp, kg):
            await app.start()
            apps.append(app)
        assert mcp.grpc is not None
        settings = RuntimeSettings(
            config_dir=config,
            runtime_id="rt-loop",
            registry_addr=f"127.0.0.1:{free_port()}",  # down: jobs run while registration retries
            router_addr=f"127.0.0.1:{router.grpc_port}",
            mcp_addr=f"127.0.0.1:{mcp.grpc.port}",
            llm_stream=stream,
            job_ack_wait_s=10.0,
            **{**common, **runtime},
        )
        rt = RuntimeApp(settings)
        await rt.start()
        apps.append(rt)
        ch = channel(f"127.0.0.1:{kg.grpc_port}")
        apps.append(ch)
        stub = kg_pb2_grpc.KnowledgeGraphStub(ch)
        return Stack(fake=fake, bus=bus, runtime=rt, kg=stub, data_dir=data, signer=JobSigner(signing_key))

    try:
        yield make
    finally:
        for app in reversed(apps):
            await app.close() if hasattr(app, "close") else await app.stop()
        await bus.stop()
        await fake.stop()
