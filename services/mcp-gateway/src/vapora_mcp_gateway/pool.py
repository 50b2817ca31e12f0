"""The gateway's MCP sessions, kept in step with the configuration.

- shared servers: one supervised :class:`ServerConnection` each, for every caller;
- worktree servers: one session per (server, root) in :class:`RootSessions`, opened on first use.
  Their tools do not depend on the root, so each is *probed* once (at start and when its launch
  changes): started on an empty git repository under ``probe_dir``, listed, stopped. That fills
  the catalogue before any job has a worktree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
from pathlib import Path

from vapora_mcp_gateway.config import McpConfig, ServerConfig
from vapora_mcp_gateway.connection import (
    ServerConnection,
    StateCallback,
    ToolsCallback,
    backoff,
    describe,
    ignore_state,
)
from vapora_mcp_gateway.sessions import RootSessions

log = logging.getLogger("vapora.mcp.pool")


def make_probe_root(path: Path) -> Path:
    """An empty git repository at ``path`` (git servers refuse a directory that is not one)."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / ".git").exists():
        try:
            done = subprocess.run(["git", "init", "-q", str(path)], capture_output=True, timeout=30, check=False)
            if done.returncode != 0:
                log.warning("git init %s failed: %s", path, done.stderr.decode(errors="replace").strip())
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("cannot run git to make the probe root %s: %s", path, exc)
    return path.resolve()


class ConnectionPool:
    def __init__(
        self,
        *,
        on_tools: ToolsCallback,
        on_state: StateCallback,
        probe_dir: Path,
        root_idle_s: float = 600.0,
        ping_interval_s: float = 5.0,
        max_backoff_s: float = 10.0,
        max_probe_backoff_s: float = 30.0,
    ) -> None:
        self._on_tools = on_tools
        self._on_state = on_state
        self._probe_dir = probe_dir
        self._ping_interval_s = ping_interval_s
        self._max_backoff_s = max_backoff_s
        self._max_probe_backoff_s = max_probe_backoff_s
        self.connections: dict[str, ServerConnection] = {}
        self.roots = RootSessions(on_tools=on_tools, idle_s=root_idle_s, ping_interval_s=ping_interval_s)
        self._probed: dict[str, tuple[object, ...]] = {}
        self._probes: dict[str, asyncio.Task[bool]] = {}

    def get(self, name: str) -> ServerConnection | None:
        return self.connections.get(name)

    def session(self, config: ServerConfig, root: Path) -> contextlib.AbstractAsyncContextManager[ServerConnection]:
        return self.roots.session(config, root)

    async def apply(self, config: McpConfig) -> None:
        """Start new servers, stop removed or disabled ones, restart those whose launch changed."""
        wanted = {n: c for n, c in config.enabled().items() if c.scope == "shared"}
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
        await self.roots.apply(config)
        for name, cfg in config.enabled().items():
            if cfg.scope == "worktree" and self._probed.get(name) != cfg.launch_key():
                self._probed[name] = cfg.launch_key()
                self._probes[name] = asyncio.create_task(self._probe(cfg), name=f"mcp-probe-{name}")

    async def _probe(self, cfg: ServerConfig) -> bool:
        """List a worktree server's tools once; a failed probe is retried with backoff."""
        root = await asyncio.to_thread(make_probe_root, self._probe_dir)
        attempt = 0
        while True:
            conn = ServerConnection(cfg.for_root(root), on_tools=self._on_tools, on_state=ignore_state)
            conn.start()
            try:
                up = await conn.wait_up(cfg.start_timeout_s)
            finally:
                await conn.stop()
            if up:
                log.info("MCP server %s listed its tools (probe)", cfg.name, extra={"mcp_server": cfg.name})
                return True
            delay = backoff(attempt + 3, self._max_probe_backoff_s)
            attempt += 1
            log.warning(
                "MCP server %s could not be probed for its tools (%s); again in %.1f s",
                cfg.name,
                conn.last_error or "not up in time",
                delay,
                extra={"mcp_server": cfg.name},
            )
            await asyncio.sleep(delay)

    async def wait_up(self, timeout: float) -> dict[str, bool]:
        """Wait for the shared servers' first sessions and the worktree servers' probes."""
        names = list(self.connections)
        probes = list(self._probes.items())

        async def probed(task: asyncio.Task[bool]) -> bool:
            try:
                return await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                return False
            except Exception as exc:
                log.warning("probe failed: %s", describe(exc))
                return False

        results = await asyncio.gather(
            *(self.connections[n].wait_up(timeout) for n in names), *(probed(t) for _, t in probes)
        )
        return dict(zip([*names, *(n for n, _ in probes)], results, strict=True))

    async def release_root(self, root: Path) -> int:
        return await self.roots.release_root(root)

    def start(self) -> None:
        self.roots.start()

    async def stop(self) -> None:
        for task in self._probes.values():
            task.cancel()
        await asyncio.gather(*self._probes.values(), return_exceptions=True)
        self._probes.clear()
        await self.roots.stop()
        await asyncio.gather(*(c.stop() for c in self.connections.values()))
        self.connections.clear()
