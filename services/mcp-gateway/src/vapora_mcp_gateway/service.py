"""The gateway's domain: which tools an agent may see and call, and the call log.

Every list and call is on behalf of a verified caller (:class:`CallContext`, from its job
token). An agent sees, and may call, only the tools its token's ``tools`` allow (exact names or
``server.*``) on servers its workspace may use; a job with no worktree (its task has no project,
or its project no repository) is not shown the tools of worktree-scoped servers, which it could
not call. Each call's record goes to the call log
(:mod:`.call_log`), which writes and publishes it behind the answer. Plain classes; the sessions,
the root resolver and the call log are injected.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mcp import types as mcp_types

from vapora_core.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
    VaporaError,
)
from vapora_core.store_guard import scrub
from vapora_mcp_gateway import metrics
from vapora_mcp_gateway.arguments import check_arguments, parse_arguments
from vapora_mcp_gateway.catalogue import Catalogue
from vapora_mcp_gateway.config import McpConfig, ServerConfig
from vapora_mcp_gateway.models import CallContext, CallRecord, CallResult, ToolInfo
from vapora_mcp_gateway.results import cut, result_text
from vapora_mcp_gateway.roots import RootResolver, bind_root_argument, root_of, schema_without
from vapora_mcp_gateway.views import allows

log = logging.getLogger("vapora.mcp.service")

MAX_ERROR_TEXT = 500
MAX_LIST_LIMIT = 1000


class ToolCaller(Protocol):
    @property
    def up(self) -> bool: ...

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult: ...


class Sessions(Protocol):
    """The shared servers' sessions by name, and worktree servers' sessions per root."""

    def get(self, name: str) -> ToolCaller | None: ...

    def session(self, config: ServerConfig, root: Path) -> contextlib.AbstractAsyncContextManager[ToolCaller]: ...


class CallLog(Protocol):
    def record(self, rec: CallRecord) -> None: ...

    async def list_calls(
        self, workspace_id: str, *, server: str = "", agent_id: str = "", task_id: str = "", limit: int = 100
    ) -> list[CallRecord]: ...


@dataclass(frozen=True, slots=True)
class ServerState:
    name: str
    scope: str
    tools_known: bool


# A failed call's outcome (its call record's, vapora_mcp_calls_total{outcome}): the first class it is.
_OUTCOMES: tuple[tuple[type[VaporaError], str], ...] = (
    (DeadlineExceeded, "timeout"),
    (Unavailable, "unavailable"),
    (PermissionDenied, "permission_denied"),
    (InvalidArgument, "invalid_argument"),
    (NotFound, "not_found"),
    (FailedPrecondition, "failed_precondition"),
)


def _outcome(exc: VaporaError) -> str:
    return next((label for cls, label in _OUTCOMES if isinstance(exc, cls)), "error")


def tool_from_mcp(server: str, tool: mcp_types.Tool) -> ToolInfo:
    return ToolInfo(
        server=server, name=scrub(tool.name), description=scrub(tool.description or ""), input_schema=tool.input_schema
    )


class GatewayService:
    """Lists and calls tools on behalf of agents; every call is counted and its record queued."""

    def __init__(
        self,
        config: McpConfig,
        catalogue: Catalogue,
        sessions: Sessions,
        call_log: CallLog,
        *,
        roots: RootResolver,
        max_result_bytes: int = 1_048_576,
    ) -> None:
        self.config = config
        self.catalogue = catalogue
        self._sessions = sessions
        self._log = call_log
        self._roots = roots
        self._max_result_bytes = max_result_bytes

    # -- listing -----------------------------------------------------------------------

    def _available(self, cfg: ServerConfig) -> bool:
        if cfg.scope == "worktree":
            return self.catalogue.known(cfg.name)  # a session starts per root on first use
        caller = self._sessions.get(cfg.name)
        return caller is not None and caller.up

    def _presented(self, cfg: ServerConfig) -> list[tuple[ToolInfo, bool]]:
        available = self._available(cfg)
        return [
            (replace(t, input_schema=schema_without(t.input_schema, cfg.root_argument)), available)
            for t in self.catalogue.tools(cfg.name)
        ]

    def _server(self, server: str) -> ServerConfig:
        enabled = self.config.enabled()
        cfg = enabled.get(server)
        if cfg is None:
            raise NotFound(f"no MCP server named {server!r}; configured: {', '.join(enabled) or 'none'}")
        return cfg

    async def list_tools(self, ctx: CallContext, server: str = "") -> list[tuple[ToolInfo, bool]]:
        """(tool, available) the caller may call; ``server`` filters."""
        if server:
            cfg = self._server(server)
            if not cfg.allows(ctx.workspace_id):
                raise PermissionDenied(f"workspace {ctx.workspace_id!r} may not use MCP server {server!r}")
            chosen = [cfg]
        else:
            chosen = [cfg for cfg in self.config.enabled().values() if cfg.allows(ctx.workspace_id)]
        if any(cfg.scope == "worktree" for cfg in chosen) and not await self._has_root(ctx):
            chosen = [cfg for cfg in chosen if cfg.scope != "worktree"]
        return [
            (tool, available)
            for cfg in chosen
            for tool, available in self._presented(cfg)
            if allows(ctx.claims.tools, tool.server, tool.name)
        ]

    async def _has_root(self, ctx: CallContext) -> bool:
        try:
            return await self._roots.root_for(ctx.claims) is not None
        except FailedPrecondition:  # another job holds the task's worktree: not this one's to use
            return False

    def list_catalogue(self) -> tuple[list[tuple[ToolInfo, bool]], list[ServerState]]:
        """Every tool of every enabled server, unfiltered: names and schemas, for start-up checks."""
        enabled = self.config.enabled().values()
        tools = [pair for cfg in enabled for pair in self._presented(cfg)]
        servers = [ServerState(cfg.name, cfg.scope, self.catalogue.known(cfg.name)) for cfg in enabled]
        return tools, servers

    # -- calling -----------------------------------------------------------------------

    def _resolve(self, server: str, tool: str) -> tuple[ServerConfig, ToolInfo | None]:
        cfg = self._server(server)
        info = self.catalogue.get(server, tool)
        if info is None and self.catalogue.known(server):
            raise NotFound(f"MCP server {server!r} has no tool {tool!r}")
        return cfg, info

    @contextlib.asynccontextmanager
    async def _caller(self, cfg: ServerConfig, ctx: CallContext) -> AsyncIterator[tuple[ToolCaller, Path | None]]:
        """The session a call runs on, and the root (None for shared servers)."""
        if cfg.scope == "shared":
            caller = self._sessions.get(cfg.name)
            if caller is None:
                raise Unavailable(f"MCP server {cfg.name!r} is not connected yet")
            yield caller, None
            return
        root = await root_of(self._roots, ctx.claims)
        async with self._sessions.session(cfg, root) as session:
            yield session, root

    async def call_tool(
        self, server: str, tool: str, arguments: str | Mapping[str, Any] | None, ctx: CallContext
    ) -> CallResult:
        if not server or not tool:
            raise InvalidArgument("server and tool are required")
        try:
            cfg, info = self._resolve(server, tool)
        except NotFound:
            metrics.CALLS.labels("unknown", "unknown", "not_found").inc()
            raise
        started = time.perf_counter()
        at = datetime.now(UTC)
        call_id = uuid.uuid4().hex
        try:
            if not cfg.allows(ctx.workspace_id):
                raise PermissionDenied(f"workspace {ctx.workspace_id!r} may not use MCP server {server!r}")
            if not allows(ctx.claims.tools, server, tool):
                raise PermissionDenied(f"agent {ctx.agent_id!r} may not call {server}.{tool}: not in its allowed_tools")
            args = parse_arguments(arguments)
            if info is None:
                raise Unavailable(f"MCP server {server!r} is not connected yet; its tools are unknown")
            async with self._caller(cfg, ctx) as (caller, root):
                if root is not None:
                    args = bind_root_argument(args, cfg.root_argument, root, info.scoped_name)
                check_arguments(info, args)
                result = await caller.call_tool(tool, args)
        except VaporaError as exc:
            rec = self._record(call_id=call_id, server=server, tool=tool, ctx=ctx, started=started, at=at, exc=exc)
            self._finish(rec)
            raise
        elapsed = time.perf_counter() - started
        metrics.CALL_SECONDS.labels(server).observe(elapsed)
        full_text, full_structured = result_text(result)
        text, structured, truncated = cut(full_text, full_structured, self._max_result_bytes)
        if truncated:
            metrics.RESULTS_TRUNCATED.labels(server).inc()
        rec = self._record(
            call_id=call_id,
            server=server,
            tool=tool,
            ctx=ctx,
            started=started,
            at=at,
            tool_error=text if result.is_error else None,
        )
        self._finish(rec)
        return CallResult(
            is_error=result.is_error,
            text=text,
            structured_json=structured,
            latency_ms=rec.latency_ms,
            call_id=call_id,
            truncated=truncated,
        )

    def _record(
        self,
        *,
        call_id: str,
        server: str,
        tool: str,
        ctx: CallContext,
        started: float,
        at: datetime,
        exc: VaporaError | None = None,
        tool_error: str | None = None,
    ) -> CallRecord:
        if exc is not None:
            outcome, error = _outcome(exc), exc.message
        elif tool_error is not None:
            outcome, error = "tool_error", tool_error
        else:
            outcome, error = "ok", ""
        return CallRecord(
            id=call_id,
            server=server,
            tool=tool,
            workspace_id=ctx.workspace_id,
            agent_id=ctx.agent_id,
            task_id=ctx.task_id,
            job_id=ctx.job_id,
            is_error=outcome != "ok",
            latency_ms=int((time.perf_counter() - started) * 1000),
            at=at,
            outcome=outcome,
            via=ctx.via,
            error=error[:MAX_ERROR_TEXT],
        )

    def _finish(self, rec: CallRecord) -> None:
        """Count the call and queue its record (written and published behind the answer); a
        failure here never fails the call itself."""
        metrics.CALLS.labels(rec.server, rec.tool, rec.outcome).inc()
        try:
            self._log.record(rec)
        except Exception:
            log.exception("could not record call %s of %s.%s", rec.id, rec.server, rec.tool)

    # -- the call log ------------------------------------------------------------------

    async def list_calls(
        self, workspace_id: str, *, server: str = "", agent_id: str = "", task_id: str = "", limit: int = 0
    ) -> list[CallRecord]:
        if not workspace_id:
            raise InvalidArgument("workspace_id is required: a workspace sees only its own calls")
        if limit < 0:
            raise InvalidArgument(f"limit must not be negative, got {limit}")
        limit = min(limit or 100, MAX_LIST_LIMIT)
        return await self._log.list_calls(workspace_id, server=server, agent_id=agent_id, task_id=task_id, limit=limit)
