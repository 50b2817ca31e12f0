"""Sessions of worktree servers: one per (server, root), opened on the first call for that root.

A session is a :class:`ServerConnection` of the server's config with ``{root}`` replaced. It is
closed when its root is released (:meth:`RootSessions.release_root`, at the end of a job), when
it has been idle for ``idle_s`` (swept every ``idle_s / 4``), or when its server's config changes.
A session with a call in flight is never idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from vapora_core.aio import Periodic
from vapora_core.errors import Unavailable
from vapora_mcp_gateway.config import McpConfig, ServerConfig
from vapora_mcp_gateway.connection import ServerConnection, ToolsCallback, ignore_state

log = logging.getLogger("vapora.mcp.sessions")


@dataclass(slots=True)
class _Session:
    conn: ServerConnection
    last_used: float = field(default_factory=time.monotonic)
    in_flight: int = 0


class RootSessions:
    def __init__(self, *, on_tools: ToolsCallback, idle_s: float, ping_interval_s: float = 5.0) -> None:
        self._on_tools = on_tools
        self._idle_s = idle_s
        self._ping_interval_s = ping_interval_s
        self._sessions: dict[tuple[str, Path], _Session] = {}
        self._locks: dict[tuple[str, Path], asyncio.Lock] = {}
        self._sweeper = Periodic("mcp-root-sessions-sweep", max(0.05, idle_s / 4), self.close_idle, wait_first=True)

    def start(self) -> None:
        self._sweeper.start()

    def open_roots(self) -> dict[str, list[Path]]:
        """Server name → roots with an open session."""
        out: dict[str, list[Path]] = {}
        for server, root in self._sessions:
            out.setdefault(server, []).append(root)
        return out

    @contextlib.asynccontextmanager
    async def session(self, config: ServerConfig, root: Path) -> AsyncIterator[ServerConnection]:
        """The live session of ``config`` for ``root`` while a call runs on it."""
        key = (config.name, root)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._sessions.get(key)
            if entry is None:
                entry = _Session(await self._open(config, root))
                self._sessions[key] = entry
        entry.in_flight += 1
        try:
            yield entry.conn
        finally:
            entry.in_flight -= 1
            entry.last_used = time.monotonic()

    async def _open(self, config: ServerConfig, root: Path) -> ServerConnection:
        conn = ServerConnection(
            config.for_root(root), on_tools=self._on_tools, on_state=ignore_state, ping_interval_s=self._ping_interval_s
        )
        conn.start()
        if not await conn.wait_up(config.start_timeout_s):
            why = conn.last_error or f"not up within {config.start_timeout_s:g} s"
            await conn.stop()
            raise Unavailable(f"MCP server {config.name!r} did not start for {root}: {why}")
        log.info("MCP server %s started for %s", config.name, root, extra={"mcp_server": config.name})
        return conn

    async def _close(self, key: tuple[str, Path], why: str) -> None:
        entry = self._sessions.pop(key, None)
        self._locks.pop(key, None)
        if entry is not None:
            log.info("closing MCP server %s for %s (%s)", key[0], key[1], why, extra={"mcp_server": key[0]})
            await entry.conn.stop()

    async def release_root(self, root: Path) -> int:
        """Close every session of ``root`` (resolved, as calls were given it); the number closed."""
        keys = [k for k in self._sessions if k[1] == root]
        await asyncio.gather(*(self._close(k, "root released") for k in keys))
        return len(keys)

    async def close_idle(self) -> int:
        now = time.monotonic()
        keys = [k for k, e in self._sessions.items() if e.in_flight == 0 and now - e.last_used >= self._idle_s]
        await asyncio.gather(*(self._close(k, "idle") for k in keys))
        return len(keys)

    async def apply(self, config: McpConfig) -> None:
        """Close the sessions of servers that were removed, disabled or whose launch changed."""
        wanted = config.enabled()
        stale = [
            k
            for k, e in self._sessions.items()
            if (cfg := wanted.get(k[0])) is None
            or cfg.scope != "worktree"
            or cfg.for_root(k[1]).launch_key() != e.conn.config.launch_key()
        ]
        await asyncio.gather(*(self._close(k, "config changed") for k in stale))
        for key, entry in self._sessions.items():
            entry.conn.config = wanted[key[0]].for_root(key[1])  # timeouts apply to the next call

    async def stop(self) -> None:
        await self._sweeper.stop()
        await asyncio.gather(*(self._close(k, "stopping") for k in list(self._sessions)))
