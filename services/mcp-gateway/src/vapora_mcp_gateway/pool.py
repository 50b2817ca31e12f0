"""The set of live server connections, kept in step with the configuration."""

from __future__ import annotations

import asyncio
import logging

from vapora_mcp_gateway.config import McpConfig
from vapora_mcp_gateway.connection import ServerConnection, StateCallback, ToolsCallback

log = logging.getLogger("vapora.mcp.pool")


class ConnectionPool:
    def __init__(
        self,
        *,
        on_tools: ToolsCallback,
        on_state: StateCallback,
        ping_interval_s: float = 5.0,
        max_backoff_s: float = 10.0,
    ) -> None:
        self._on_tools = on_tools
        self._on_state = on_state
        self._ping_interval_s = ping_interval_s
        self._max_backoff_s = max_backoff_s
        self.connections: dict[str, ServerConnection] = {}

    def get(self, name: str) -> ServerConnection | None:
        return self.connections.get(name)

    async def apply(self, config: McpConfig) -> None:
        """Start new servers, stop removed or disabled ones, restart those whose launch changed."""
        wanted = config.enabled()
        for name, conn in list(self.connections.items()):
            cfg = wanted.get(name)
            if cfg is None or cfg.launch_key() != conn.config.launch_key():
                log.info("stopping MCP server %s (%s)", name, "removed" if cfg is None else "changed")
                await conn.stop()
                del self.connections[name]
            else:
                conn.config = cfg  # timeout and workspaces apply to the next call
        for name, cfg in wanted.items():
            if name not in self.connections:
                conn = ServerConnection(
                    cfg,
                    on_tools=self._on_tools,
                    on_state=self._on_state,
                    ping_interval_s=self._ping_interval_s,
                    max_backoff_s=self._max_backoff_s,
                )
                self.connections[name] = conn
                conn.start()

    async def wait_up(self, timeout: float) -> dict[str, bool]:
        names = list(self.connections)
        results = await asyncio.gather(*(self.connections[n].wait_up(timeout) for n in names))
        return dict(zip(names, results, strict=True))

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.connections.values()))
        self.connections.clear()
