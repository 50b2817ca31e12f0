"""The aggregated tool catalogue served as an MCP server over streamable HTTP (``/mcp``).

Tools are named ``<server>.<tool>``. The caller says who it is in headers:
``X-Vapora-Workspace-Id`` (required to call), ``X-Vapora-Agent-Id``, ``X-Vapora-Task-Id``.
Calls go through :class:`GatewayService`, so they land in the same call log.

With a token (``VAPORA_MCP_HTTP_TOKEN``), every request must carry ``Authorization: Bearer
<token>``; any other answers 401 before it reaches the MCP server. Listening beyond loopback
without a token is refused at start: the workspace headers are trusted, so the endpoint must
only be reachable by callers that hold the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from mcp import types as mcp_types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from vapora_core.errors import ConfigError, NotFound, Unavailable, VaporaError
from vapora_mcp_gateway.models import CallContext
from vapora_mcp_gateway.service import GatewayService

log = logging.getLogger("vapora.mcp.endpoint")

WORKSPACE_HEADER = "x-vapora-workspace-id"
AGENT_HEADER = "x-vapora-agent-id"
TASK_HEADER = "x-vapora-task-id"
PATH = "/mcp"


def _header(ctx: ServerRequestContext[Any, Any], name: str) -> str:
    request = ctx.request
    headers = getattr(request, "headers", None)
    if headers is None:
        return ""
    return str(headers.get(name, "")).strip()


def build_server(service: GatewayService) -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        tools = service.list_tools(_header(ctx, WORKSPACE_HEADER))
        return mcp_types.ListToolsResult(
            tools=[
                mcp_types.Tool(
                    name=t.scoped_name,
                    description=f"[{t.server}] {t.description}".strip(),
                    input_schema=t.input_schema,
                )
                for t, _ in tools
            ]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: mcp_types.CallToolRequestParams
    ) -> mcp_types.CallToolResult:
        server, _, tool = params.name.partition(".")
        call = CallContext(
            workspace_id=_header(ctx, WORKSPACE_HEADER),
            agent_id=_header(ctx, AGENT_HEADER),
            task_id=_header(ctx, TASK_HEADER),
            via="mcp-http",
        )
        if not call.workspace_id:
            return _error(f"header X-Vapora-Workspace-Id is required to call {params.name}")
        try:
            result = await service.call_tool(server, tool, params.arguments or {}, call)
        except NotFound as exc:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool {params.name!r}: {exc.message}") from exc
        except VaporaError as exc:
            return _error(f"{exc.code}: {exc.message}")
        structured: Any = None
        if result.structured_json:
            structured = json.loads(result.structured_json)
        return mcp_types.CallToolResult(
            content=[mcp_types.TextContent(type="text", text=result.text)],
            structured_content=structured if isinstance(structured, dict) else None,
            is_error=result.is_error,
        )

    return Server(
        "vapora-mcp-gateway",
        version="0.1.0",
        instructions="Tools of the MCP servers configured in Vapora, named <server>.<tool>.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _error(text: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=text)], is_error=True)


class BearerToken:
    """ASGI middleware: an HTTP request without ``Authorization: Bearer <token>`` answers 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            if not hmac.compare_digest(given, self.expected):
                what = "a wrong bearer token" if given else "no Authorization header"
                refused = JSONResponse(
                    {"error": f"the MCP endpoint needs Authorization: Bearer <VAPORA_MCP_HTTP_TOKEN>; got {what}"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="vapora-mcp"'},
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def require_token_beyond_loopback(host: str, token: str) -> None:
    """Refuse to serve the endpoint beyond loopback without a token (checked before anything starts)."""
    if token or host == "localhost":
        return
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            return
    raise ConfigError(
        f"the MCP endpoint would listen on {host} with no token; set VAPORA_MCP_HTTP_TOKEN (or bind it to loopback)",
        field="VAPORA_MCP_HTTP_TOKEN",
    )


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the process lifecycle owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class McpHttpEndpoint:
    """uvicorn serving the MCP server's Starlette app on ``host:port`` (0 = a free port)."""

    def __init__(self, service: GatewayService, host: str, port: int, *, token: str = "") -> None:
        self._service = service
        self._host = host
        self._token = token
        self.port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}{PATH}"

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self.port))
        except OSError as exc:
            sock.close()
            raise Unavailable(
                f"cannot bind the MCP endpoint to {self._host}:{self.port}: {exc.strerror}; "
                "set VAPORA_MCP_HTTP_PORT (0 picks a free port)"
            ) from exc
        self.port = sock.getsockname()[1]
        app: ASGIApp = build_server(self._service).streamable_http_app(streamable_http_path=PATH, host=self._host)
        if self._token:
            app = BearerToken(app, self._token)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self._server = _Uvicorn(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="mcp-http")
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise Unavailable("the MCP endpoint stopped while starting")
            await asyncio.sleep(0.02)
        log.info("MCP endpoint on %s", self.url)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, 5)
            self._task = None
        self._server = None
