"""The mcp-gateway process: store, bus, MCP server sessions, gRPC and the MCP endpoint.

The process serves two gRPC services: ``McpGateway`` (tools) and ``Repositories`` (projects'
repositories and the jobs' worktrees, :mod:`.repos`). ``root_resolver`` answers the work root
of a job for ``scope = "worktree"`` servers; the default is the job's prepared worktree.
:meth:`McpApp.release_root` closes a root's sessions when its job ends.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from mcp import types as mcp_types

from vapora.mcp.v1 import mcp_pb2_grpc, repositories_pb2_grpc
from vapora_core.bus import Bus
from vapora_core.grpc import GrpcServer
from vapora_core.jobtoken import VERIFY_KEY_SETTING, JobVerifier
from vapora_core.parts import ServiceApp
from vapora_core.store import Store
from vapora_mcp_gateway.call_log import CallLog
from vapora_mcp_gateway.catalogue import Catalogue
from vapora_mcp_gateway.config import McpConfig, load_config
from vapora_mcp_gateway.events import CallPublisher
from vapora_mcp_gateway.grpc_server import LIMITS, SERVICE_NAME, McpGatewayServicer
from vapora_mcp_gateway.identity import Authenticator
from vapora_mcp_gateway.mcp_endpoint import McpHttpEndpoint
from vapora_mcp_gateway.pool import ConnectionPool
from vapora_mcp_gateway.repos import records as repo_records
from vapora_mcp_gateway.repos import servicer as repo_servicer
from vapora_mcp_gateway.repos.parts import RepoParts
from vapora_mcp_gateway.repository import NAMESPACE, SCHEMA, Repository
from vapora_mcp_gateway.roots import RootResolver
from vapora_mcp_gateway.service import GatewayService, tool_from_mcp
from vapora_mcp_gateway.settings import McpSettings

log = logging.getLogger("vapora.mcp.app")


class McpApp(ServiceApp):
    def __init__(
        self, settings: McpSettings, *, ping_interval_s: float = 5.0, root_resolver: RootResolver | None = None
    ) -> None:
        super().__init__(settings)
        self.settings = settings
        self._root_resolver = root_resolver
        self._ping_interval_s = ping_interval_s
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.pool: ConnectionPool | None = None
        self.service: GatewayService | None = None
        self.http: McpHttpEndpoint | None = None
        self._repo: Repository | None = None
        self.repos: RepoParts | None = None
        self._catalogue = Catalogue()

    def load_config(self) -> McpConfig:
        s = self.settings
        return load_config(s.config_path(), data_dir=s.data_dir, config_dir=s.config_dir, tools_dir=s.tools_path())

    async def start(self) -> None:
        """Start the parts; :meth:`stop` stops them in reverse: the MCP endpoint, gRPC (calls in
        flight finish), the call log (what is queued is written and published), the MCP server
        sessions, the bus, the store."""
        s, parts = self.settings, self.parts
        auth = Authenticator(JobVerifier.from_setting(s.job_verify_key, setting=VERIFY_KEY_SETTING))
        config = self.load_config()
        self.store = await parts.store(Store.from_settings(s, NAMESPACE), (*SCHEMA, *repo_records.SCHEMA))
        self._repo = repo = Repository(self.store)
        self.repos = repos = await RepoParts.build(s, self.store, auth, close_sessions=self.release_root)
        await repos.worktrees.load()
        parts.periodic(repos.sweeper)
        self._catalogue.load(await repo.load_tools())
        self.bus = await parts.bus(Bus.from_settings(s))
        self.pool = pool = ConnectionPool(
            on_tools=self._on_tools,
            on_state=self._on_state,
            probe_dir=s.data_dir / f"{s.service_name}-probe-root",
            root_idle_s=s.mcp_root_idle_s,
            ping_interval_s=self._ping_interval_s,
        )
        parts.callback("the MCP server sessions", pool.stop)
        calls = CallLog(repo, CallPublisher(self.bus), flush_s=s.mcp_call_log_flush_s)
        parts.callback("the call log", calls.close)
        self.service = GatewayService(
            config,
            self._catalogue,
            pool,
            calls,
            roots=self._root_resolver or repos.worktrees,
            max_result_bytes=s.mcp_max_result_bytes,
        )
        await pool.apply(config)
        pool.start()
        up = await pool.wait_up(s.mcp_start_wait_s)
        for name, ok in up.items():
            if not ok:
                log.warning("MCP server %s is not up yet; its sessions keep retrying", name)
        self.grpc = await parts.grpc(
            GrpcServer(
                s.service_name,
                s.grpc_host,
                s.grpc_port,
                [
                    (
                        mcp_pb2_grpc.add_McpGatewayServicer_to_server,
                        McpGatewayServicer(self.service, auth),
                        SERVICE_NAME,
                    ),
                    (
                        repositories_pb2_grpc.add_RepositoriesServicer_to_server,
                        repos.servicer,
                        repo_servicer.SERVICE_NAME,
                    ),
                ],
                limits=LIMITS,
            )
        )
        self.http = McpHttpEndpoint(self.service, auth, s.mcp_http_host, s.mcp_http_port)
        parts.callback("the MCP endpoint", self.http.stop)  # also when it fails half-way through starting
        await self.http.start()
        log.info(
            "mcp-gateway serving gRPC on %s:%d and MCP on %s",
            s.grpc_host,
            self.grpc.port,
            self.http.url,
        )

    async def reload(self) -> None:
        """Re-read config/mcp.toml; an invalid file raises and the old config stays."""
        config = self.load_config()
        if self.service is None or self.pool is None:
            return
        self.service.config = config
        await self.pool.apply(config)

    async def release_root(self, root: Path) -> int:
        """Close the worktree servers' sessions of ``root`` (its job is done); how many were open."""
        if self.pool is None:
            return 0
        return await self.pool.release_root(await asyncio.to_thread(root.resolve))

    async def _on_tools(self, server: str, tools: list[mcp_types.Tool]) -> None:
        infos = [tool_from_mcp(server, t) for t in tools]
        self._catalogue.replace(server, infos)
        if self._repo is not None:
            try:
                await self._repo.save_tools(server, infos)
            except Exception:
                log.exception("could not cache the tools of %s", server)

    async def _on_state(self, server: str, up: bool, error: str) -> None:
        if self._repo is None or self.service is None:
            return
        cfg = self.service.config.enabled().get(server)
        await self._repo.save_server_state(server, cfg.transport if cfg else "", up, error)
