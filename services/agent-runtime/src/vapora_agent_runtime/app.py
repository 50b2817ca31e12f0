"""agent-runtime: built from settings; no I/O until :meth:`RuntimeApp.start`.

Stateless: no store. On SIGTERM it stops heartbeating and consuming, lets jobs in flight
finish within the grace period (the bus naks the rest so another replica takes them), and
does not deregister: the registry marks its agents unhealthy after the heartbeat timeout,
while replicas hosting the same agent ids keep them alive (see docs/agents.md).

Before anything starts (and on every reload) the manifests' ``allowed_tools`` are checked
against mcp-gateway's catalogue (``ListCatalogue``, waited for up to
``VAPORA_MCP_CATALOGUE_WAIT_S``): a tool it does not have stops start-up with a
:class:`ConfigError` naming the manifest file and the tool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from vapora_agent_runtime.clients import McpClient, RegistryClient, RouterClient
from vapora_agent_runtime.host import AgentHost
from vapora_agent_runtime.manifest import AgentManifest, ToolCatalogue, check_tools, load_manifests, tool_servers
from vapora_agent_runtime.service import JobExecutor
from vapora_agent_runtime.settings import RuntimeSettings
from vapora_agent_runtime.worktree import WorktreeClient
from vapora_core.bus import Bus
from vapora_core.errors import Unavailable, VaporaError
from vapora_core.parts import ServiceApp

log = logging.getLogger("vapora.runtime.app")
REGISTERED = "every hosted agent registered with agent-registry"


class RuntimeApp(ServiceApp):
    def __init__(self, settings: RuntimeSettings) -> None:
        super().__init__(settings)
        self.settings = settings
        self.runtime_id = settings.resolved_runtime_id()
        self.bus = Bus.from_settings(settings)
        self.registry: RegistryClient | None = None
        self.router: RouterClient | None = None
        self.mcp: McpClient | None = None
        self.host: AgentHost | None = None

    async def checked_manifests(self) -> list[AgentManifest]:
        """The manifests, with every tool they allow known to mcp-gateway."""
        manifests = load_manifests(self.settings.agents_dir)
        servers = tool_servers(manifests)
        if servers:
            check_tools(manifests, await self._catalogue(servers))
        return manifests

    async def _catalogue(self, servers: Iterable[str]) -> ToolCatalogue:
        s = self.settings
        client = McpClient(s.mcp_addr, timeout=s.grpc_timeout_s)
        deadline = asyncio.get_running_loop().time() + s.mcp_catalogue_wait_s
        try:
            while True:
                try:
                    catalogue = ToolCatalogue.from_response(await client.list_catalogue())
                except VaporaError as exc:
                    if not exc.retryable:
                        raise
                    why = f"mcp-gateway at {s.mcp_addr} does not answer ({exc})"
                else:
                    unlisted = catalogue.unlisted(servers)
                    if not unlisted:
                        return catalogue
                    why = f"MCP servers {', '.join(sorted(unlisted))} have not listed their tools"
                if asyncio.get_running_loop().time() > deadline:
                    raise Unavailable(
                        f"cannot check the manifests' allowed_tools: {why}; waited {s.mcp_catalogue_wait_s:g} s"
                        " (VAPORA_MCP_CATALOGUE_WAIT_S)"
                    )
                log.info("waiting for the tool catalogue: %s", why)
                await asyncio.sleep(0.5)
        finally:
            await client.close()

    async def start(self) -> None:
        """Start the parts; :meth:`stop` stops them in reverse: heartbeats and registration, the
        bus (jobs in flight finish within the grace, the rest go back to JetStream), the clients."""
        s, parts = self.settings, self.parts
        manifests = await self.checked_manifests()
        self.registry = RegistryClient(s.registry_addr, timeout=s.grpc_timeout_s)
        parts.callback("the registry client", self.registry.close)
        self.router = RouterClient(s.router_addr, timeout=s.llm_timeout_s, stream=s.llm_stream)
        parts.callback("the router client", self.router.close)
        self.mcp = McpClient(s.mcp_addr, timeout=s.tool_timeout_s, list_timeout=s.grpc_timeout_s)
        parts.callback("the mcp-gateway client", self.mcp.close)
        worktrees = WorktreeClient(s.mcp_addr, timeout=s.tool_timeout_s, verify_timeout=s.verify_timeout_s)
        parts.callback("the worktree client", worktrees.close)
        executor = JobExecutor(
            complete=self.router.complete,
            gateway=self.mcp,
            sender=self.bus,
            worktrees=worktrees,
            max_tokens=s.max_tokens,
            result_max_chars=s.result_max_chars,
            tool_result_max_bytes=s.tool_result_max_bytes,
            transcript_max_bytes=s.transcript_max_bytes,
        )
        self.host = AgentHost(self.bus, self.registry, executor, self.runtime_id, s)
        await self.host.apply(manifests)
        await parts.bus(self.bus)
        await self.host.listen()  # stops are core NATS: only a connected bus can hear them
        # Ready once its agents are registered: until then the coordinator cannot send it a job,
        # and the gateway refuses tasks of types only these agents take.
        self.readiness.wait_for(REGISTERED)
        for loop in self.host.background(on_registered=lambda: self.readiness.have(REGISTERED)):
            parts.periodic(loop)

    async def reload(self) -> None:
        """Re-read the manifests (SIGHUP); a bad manifest keeps the previous set."""
        manifests = await self.checked_manifests()
        if self.host is not None:
            await self.host.apply(manifests)
