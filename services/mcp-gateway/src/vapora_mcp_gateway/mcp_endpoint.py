"""The aggregated tool catalogue served as an MCP server over streamable HTTP (``/mcp``).

Tools are named ``<server>.<tool>``. Every HTTP request must carry ``Authorization: Bearer <job
token>`` (the coordinator's signed job token, :mod:`vapora_core.jobtoken`); any other answers 401
with the reason before it reaches the MCP server. The caller's workspace, agent and task come
from the verified token only: it lists, and may call, the tools its token allows. Calls go
through :class:`GatewayService`, so they land in the same call log (``via = "mcp-http"``).
"""

from __future__ import annotations

import asyncio
import contextlib
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

from vapora_core.errors import NotFound, Unauthenticated, Unavailable, VaporaError
from vapora_mcp_gateway.identity import Authenticator
from vapora_mcp_gateway.models import CallContext
from vapora_mcp_gateway.service import GatewayService

log = logging.getLogger("vapora.mcp.endpoint")

PATH = "/mcp"
VIA = "mcp-http"


def _caller(auth: Authenticator, ctx: ServerRequestContext[Any, Any]) -> CallContext:
    headers = getattr(ctx.request, "headers", None)
    return auth.caller(str(headers.get("authorization", "")) if headers is not None else "", via=VIA)


def build_server(service: GatewayService, auth: Authenticator) -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: mcp_types.PaginatedRequestParams | None
    ) -> mcp_types.ListToolsResult:
        tools = await service.list_tools(_caller(auth, ctx))
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
        try:
            result = await service.call_tool(server, tool, params.arguments or {}, _caller(auth, ctx))
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


class JobTokenAuth:
    """ASGI middleware: an HTTP request without a valid job token answers 401 with the reason."""

    def __init__(self, app: ASGIApp, auth: Authenticator) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
            try:
                self.auth.caller(given.decode("latin-1"), via=VIA)
            except Unauthenticated as exc:
                refused = JSONResponse(
                    {"error": f"the MCP endpoint needs Authorization: Bearer <job token>: {exc.message}"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="vapora-mcp"'},
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the process lifecycle owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class McpHttpEndpoint:
    """uvicorn serving the MCP server's Starlette app on ``host:port`` (0 = a free port)."""

    def __init__(self, service: GatewayService, auth: Authenticator, host: str, port: int) -> None:
        self._service = service
        self._auth = auth
        self._host = host
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
        app: ASGIApp = JobTokenAuth(
            build_server(self._service, self._auth).streamable_http_app(streamable_http_path=PATH, host=self._host),
            self._auth,
        )
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
