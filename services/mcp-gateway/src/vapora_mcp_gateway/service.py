"""The gateway's domain: which tools a workspace may see and call, and the call log.

Plain classes; the connections, the repository and the event publisher are injected.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from mcp import types as mcp_types

from vapora_core.errors import (
    DeadlineExceeded,
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

log = logging.getLogger("vapora.mcp.service")

MAX_ERROR_TEXT = 500
MAX_LIST_LIMIT = 1000


class ToolCaller(Protocol):
    @property
    def up(self) -> bool: ...

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult: ...


class CallLog(Protocol):
    async def record_call(self, rec: CallRecord) -> None: ...

    async def list_calls(
        self, workspace_id: str, *, server: str = "", agent_id: str = "", task_id: str = "", limit: int = 100
    ) -> list[CallRecord]: ...


Publish = Callable[[CallRecord], Awaitable[None]]


def _outcome(exc: VaporaError) -> str:
    if isinstance(exc, DeadlineExceeded):
        return "timeout"
    if isinstance(exc, Unavailable):
        return "unavailable"
    if isinstance(exc, PermissionDenied):
        return "permission_denied"
    if isinstance(exc, InvalidArgument):
        return "invalid_argument"
    if isinstance(exc, NotFound):
        return "not_found"
    return "error"


def result_text(result: mcp_types.CallToolResult) -> tuple[str, str]:
    """(text parts joined, structured content as JSON). A tool's text is the outside world's: a NUL
    or a lone surrogate in it (which protobuf and the store cannot carry) becomes U+FFFD."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(scrub(block.text))
        else:
            mime = getattr(block, "mime_type", "") or ""
            parts.append(f"[{block.type}{' ' + mime if mime else ''}]")
    structured = json.dumps(result.structured_content) if result.structured_content is not None else ""
    return "\n".join(parts), structured


def tool_from_mcp(server: str, tool: mcp_types.Tool) -> ToolInfo:
    return ToolInfo(
        server=server, name=scrub(tool.name), description=scrub(tool.description or ""), input_schema=tool.input_schema
    )


class GatewayService:
    """Lists and calls tools on behalf of agents; every call is logged and published."""

    def __init__(
        self,
        config: McpConfig,
        catalogue: Catalogue,
        callers: Callable[[str], ToolCaller | None],
        call_log: CallLog,
        publish: Publish,
    ) -> None:
        self.config = config
        self.catalogue = catalogue
        self._callers = callers
        self._log = call_log
        self._publish = publish

    # -- listing -----------------------------------------------------------------------

    def _permitted(self, cfg: ServerConfig, workspace_id: str) -> bool:
        # Without a workspace only servers open to every workspace are visible.
        return cfg.allows(workspace_id) if workspace_id else "*" in cfg.workspaces

    def list_tools(self, workspace_id: str, server: str = "") -> list[tuple[ToolInfo, bool]]:
        """(tool, available) for the servers ``workspace_id`` may use; ``server`` filters."""
        enabled = self.config.enabled()
        if server:
            cfg = enabled.get(server)
            if cfg is None:
                raise NotFound(f"no MCP server named {server!r}; configured: {', '.join(enabled) or 'none'}")
            if not self._permitted(cfg, workspace_id):
                raise PermissionDenied(f"workspace {workspace_id!r} may not use MCP server {server!r}")
            chosen = [cfg]
        else:
            chosen = [cfg for cfg in enabled.values() if self._permitted(cfg, workspace_id)]
        out: list[tuple[ToolInfo, bool]] = []
        for cfg in chosen:
            caller = self._callers(cfg.name)
            available = caller is not None and caller.up
            out.extend((tool, available) for tool in self.catalogue.tools(cfg.name))
        return out

    # -- calling -----------------------------------------------------------------------

    def _resolve(self, server: str, tool: str) -> tuple[ServerConfig, ToolInfo | None]:
        cfg = self.config.enabled().get(server)
        if cfg is None:
            raise NotFound(f"no MCP server named {server!r}; configured: {', '.join(self.config.enabled()) or 'none'}")
        info = self.catalogue.get(server, tool)
        if info is None and self.catalogue.known(server):
            raise NotFound(f"MCP server {server!r} has no tool {tool!r}")
        return cfg, info

    async def call_tool(
        self, server: str, tool: str, arguments: str | Mapping[str, Any] | None, ctx: CallContext
    ) -> CallResult:
        if not ctx.workspace_id:
            raise InvalidArgument("workspace_id is required: every call belongs to a workspace")
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
            args = parse_arguments(arguments)
            caller = self._callers(server)
            if info is None or caller is None:
                raise Unavailable(f"MCP server {server!r} is not connected yet; its tools are unknown")
            check_arguments(info, args)
            result = await caller.call_tool(tool, args)
        except VaporaError as exc:
            latency = int((time.perf_counter() - started) * 1000)
            await self._finish(
                CallRecord(
                    id=call_id,
                    server=server,
                    tool=tool,
                    workspace_id=ctx.workspace_id,
                    agent_id=ctx.agent_id,
                    task_id=ctx.task_id,
                    is_error=True,
                    latency_ms=latency,
                    at=at,
                    outcome=_outcome(exc),
                    via=ctx.via,
                    error=exc.message[:MAX_ERROR_TEXT],
                )
            )
            raise
        elapsed = time.perf_counter() - started
        metrics.CALL_SECONDS.labels(server).observe(elapsed)
        text, structured = result_text(result)
        latency = int(elapsed * 1000)
        await self._finish(
            CallRecord(
                id=call_id,
                server=server,
                tool=tool,
                workspace_id=ctx.workspace_id,
                agent_id=ctx.agent_id,
                task_id=ctx.task_id,
                is_error=result.is_error,
                latency_ms=latency,
                at=at,
                outcome="tool_error" if result.is_error else "ok",
                via=ctx.via,
                error=text[:MAX_ERROR_TEXT] if result.is_error else "",
            )
        )
        return CallResult(
            is_error=result.is_error, text=text, structured_json=structured, latency_ms=latency, call_id=call_id
        )

    async def _finish(self, rec: CallRecord) -> None:
        """Count, log and publish a call; a failure here never fails the call itself."""
        metrics.CALLS.labels(rec.server, rec.tool, rec.outcome).inc()
        try:
            await self._log.record_call(rec)
        except Exception:
            log.exception("could not record call %s of %s.%s", rec.id, rec.server, rec.tool)
        try:
            await self._publish(rec)
        except Exception as exc:
            metrics.PUBLISH_FAILURES.labels(rec.server).inc()
            log.error("could not publish call %s of %s.%s: %s", rec.id, rec.server, rec.tool, exc)

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
