"""agent-runtime: built from settings; no I/O until :meth:`RuntimeApp.start`.

Stateless: no store. On SIGTERM it stops heartbeating and consuming, lets jobs in flight
finish within the grace period (the bus naks the rest so another replica takes them), and
does not deregister: the registry marks its agents unhealthy after the heartbeat timeout,
while replicas hosting the same agent ids keep them alive (see docs/agents.md).
"""

from __future__ import annotations

from vapora_agent_runtime.clients import McpClient, RegistryClient, RouterClient
from vapora_agent_runtime.host import AgentHost
from vapora_agent_runtime.manifest import load_manifests
from vapora_agent_runtime.service import JobExecutor
from vapora_agent_runtime.settings import RuntimeSettings
from vapora_core.bus import Bus
from vapora_core.metrics import Readiness

REGISTERED = "every hosted agent registered with agent-registry"


class RuntimeApp:
    def __init__(self, settings: RuntimeSettings) -> None:
        self.settings = settings
        self.readiness = Readiness(settings.service_name)
        self.runtime_id = settings.resolved_runtime_id()
        self.bus = Bus.from_settings(settings)
        self.registry: RegistryClient | None = None
        self.router: RouterClient | None = None
        self.mcp: McpClient | None = None
        self.host: AgentHost | None = None

    async def start(self) -> None:
        manifests = load_manifests(self.settings.agents_dir)
        self.registry = RegistryClient(self.settings.registry_addr, timeout=self.settings.grpc_timeout_s)
        s = self.settings
        self.router = RouterClient(s.router_addr, timeout=s.llm_timeout_s, stream=s.llm_stream)
        self.mcp = McpClient(s.mcp_addr, timeout=s.tool_timeout_s, list_timeout=s.grpc_timeout_s)
        executor = JobExecutor(
            complete=self.router.complete,
            gateway=self.mcp,
            sender=self.bus,
            max_tokens=s.max_tokens,
            result_max_chars=s.result_max_chars,
            tool_result_max_bytes=s.tool_result_max_bytes,
            transcript_max_bytes=s.transcript_max_bytes,
        )
        self.host = AgentHost(
            bus=self.bus,
            registry=self.registry,
            executor=executor,
            runtime_id=self.runtime_id,
            job_ack_wait_s=self.settings.job_ack_wait_s,
            heartbeat_interval_s=self.settings.heartbeat_interval_s,
            registry_check_interval_s=self.settings.registry_check_interval_s,
        )
        await self.host.apply(manifests)
        await self.bus.start()
        await self.host.listen()  # stops are core NATS: only a connected bus can hear them
        # Ready once its agents are registered: until then the coordinator cannot send it a job,
        # and the gateway refuses tasks of types only these agents take.
        self.readiness.wait_for(REGISTERED)
        self.host.start_background(on_registered=lambda: self.readiness.have(REGISTERED))

    async def reload(self) -> None:
        """Re-read the manifests (SIGHUP); a bad manifest keeps the previous set."""
        manifests = load_manifests(self.settings.agents_dir)
        if self.host is not None:
            await self.host.apply(manifests)

    async def stop(self) -> None:
        if self.host is not None:
            await self.host.stop_background()
        await self.bus.stop()
        for client in (self.registry, self.router, self.mcp):
            if client is not None:
                await client.close()
