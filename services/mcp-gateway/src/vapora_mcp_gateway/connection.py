"""One supervised MCP client session per configured server.

A :class:`~vapora_core.aio.Periodic` supervisor runs one session a round: it connects
(spawning a stdio server, or opening a streamable-HTTP session), initialises, lists the
tools, then watches the session: the server's stdout closing (it exited) or a failed ping
(a Periodic of its own, every ``ping_interval_s``) ends it. No ping is sent while a tool call
is in flight: the call has its own timeout, and a server busy writing a large result would
answer the ping late and be taken for dead, failing the very call it was serving. Once a call
has timed out, though, the server is suspect and is pinged even with calls in flight (a hung
server under steady traffic would otherwise never be found out), until a ping succeeds.
The round then returns the reconnect back-off (0.2 s doubling, capped, reset after a session that stayed up), so a
crashed stdio server is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp import types as mcp_types
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp_types import CONNECTION_CLOSED, INVALID_PARAMS, METHOD_NOT_FOUND, REQUEST_TIMEOUT

from vapora_core.aio import Delay, Periodic
from vapora_core.errors import DeadlineExceeded, Internal, InvalidArgument, Unavailable
from vapora_mcp_gateway import metrics
from vapora_mcp_gateway.config import ServerConfig

log = logging.getLogger("vapora.mcp.connection")

ToolsCallback = Callable[[str, list[mcp_types.Tool]], Awaitable[None]]
StateCallback = Callable[[str, bool, str], Awaitable[None]]
CLIENT_INFO = mcp_types.Implementation(name="vapora-mcp-gateway", version="0.1.0")


def describe(exc: BaseException) -> str:
    """A one-line reason, unwrapping the exception groups anyio raises."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def ignore_state(server: str, up: bool, error: str) -> None:
    """The state callback of sessions that are not the server's own (probes, per-root sessions)."""


def backoff(attempt: int, maximum: float) -> float:
    return float(min(maximum, 0.2 * 2**attempt))


class Watched:
    """A transport's read stream as the session reads it, setting ``closed`` when it ends (the server
    exited, or the session closed it): the session reads the transport itself, with no task and
    no stream between them on each message's way."""

    def __init__(self, stream: Any, closed: anyio.Event) -> None:
        self._stream = stream
        self._closed = closed

    @property
    def last_context(self) -> Any:
        """The sender's context of the last message, where the transport's stream carries one."""
        return getattr(self._stream, "last_context", None)

    async def receive(self) -> SessionMessage | Exception:
        try:
            item: SessionMessage | Exception = await self._stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._closed.set()
            raise
        return item

    async def aclose(self) -> None:
        self._closed.set()
        await self._stream.aclose()

    def __aiter__(self) -> Watched:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Watched:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class ServerConnection:
    """The session to one MCP server, restarted when it ends."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        on_tools: ToolsCallback,
        on_state: StateCallback,
        ping_interval_s: float = 5.0,
        ping_timeout_s: float = 10.0,
        max_backoff_s: float = 10.0,
        stable_after_s: float = 30.0,
    ) -> None:
        self.config = config
        self._on_tools = on_tools
        self._on_state = on_state
        self._ping_interval_s = ping_interval_s
        self._ping_timeout_s = ping_timeout_s
        self._max_backoff_s = max_backoff_s
        self._stable_after_s = stable_after_s
        self._session: ClientSession | None = None
        self._up = asyncio.Event()
        self._supervisor: Periodic | None = None
        self._attempt = 0  # reconnects since the last session that stayed up for stable_after_s
        self._sessions = 0
        self._in_flight = 0  # tool calls waiting for their result
        self._suspect = False  # a call timed out: ping even while calls are in flight
        self.restarts = 0
        self.last_error = ""

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def up(self) -> bool:
        return self._session is not None

    def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = Periodic(f"mcp-server-{self.name}", self._max_backoff_s, self._session_round)
            self._supervisor.start()

    async def stop(self) -> None:
        if self._supervisor is not None:
            await self._supervisor.stop()
            self._supervisor = None
        self._mark_down()

    async def wait_up(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), timeout)
        return self.up

    # -- calling -----------------------------------------------------------------------

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call ``tool``; timeouts → DeadlineExceeded, a lost session → Unavailable (both retryable)."""
        session = self._session
        if session is None:
            why = f" ({self.last_error})" if self.last_error else ""
            raise Unavailable(f"MCP server {self.name!r} is not connected{why}")
        timeout = self.config.timeout_s
        self._in_flight += 1
        try:
            return await session.call_tool(tool, arguments, read_timeout_seconds=timeout)
        except MCPError as exc:
            if exc.code == REQUEST_TIMEOUT:
                self._suspect = True
                raise DeadlineExceeded(f"{self.name}.{tool} did not answer within {timeout:g} s") from exc
            if exc.code == CONNECTION_CLOSED:
                raise Unavailable(f"MCP server {self.name!r} closed the connection during {tool}") from exc
            if exc.code in (INVALID_PARAMS, METHOD_NOT_FOUND):
                raise InvalidArgument(f"{self.name}.{tool}: {exc.message}") from exc
            raise Internal(f"{self.name}.{tool}: MCP error {exc.code}: {exc.message}") from exc
        except (anyio.ClosedResourceError, anyio.BrokenResourceError) as exc:
            raise Unavailable(f"MCP server {self.name!r} closed the connection during {tool}") from exc
        finally:
            self._in_flight -= 1

    # -- the supervisor ----------------------------------------------------------------

    async def _session_round(self) -> Delay:
        """One session, from connecting until it ends; then when to reconnect (the back-off)."""
        if self._sessions:
            self.restarts += 1
            metrics.SERVER_RESTARTS.labels(self.name).inc()
        self._sessions += 1
        started = time.monotonic()
        try:
            await self._session_once()
        except Exception as exc:
            self.last_error = describe(exc)
        self._mark_down()
        with contextlib.suppress(Exception):
            await self._on_state(self.name, False, self.last_error)
        if time.monotonic() - started > self._stable_after_s:
            self._attempt = 0
        delay = backoff(self._attempt, self._max_backoff_s)
        self._attempt += 1
        log.warning(
            "MCP server %s is down (%s); reconnecting in %.1f s",
            self.name,
            self.last_error,
            delay,
            extra={"mcp_server": self.name},
        )
        return Delay(delay)

    def _transport(self) -> AbstractAsyncContextManager[Any]:
        cfg = self.config
        if cfg.transport == "stdio":
            params = StdioServerParameters(
                command=cfg.command, args=list(cfg.args), env=dict(cfg.env) or None, cwd=cfg.cwd or None
            )
            return stdio_client(params, errlog=sys.stderr)
        return streamable_http_client(cfg.url)

    async def _session_once(self) -> None:
        closed = anyio.Event()
        async with AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(self._transport())
            watched = Watched(read, closed)  # its end means the server went away
            session = await stack.enter_async_context(ClientSession(watched, write, client_info=CLIENT_INFO))
            with anyio.fail_after(self.config.start_timeout_s):
                await session.initialize()
                tools = [tool async for tool in _all_tools(session)]
            await self._on_tools(self.name, tools)
            self._session = session
            self.last_error = ""
            self._suspect = False
            self._up.set()
            metrics.SERVERS_UP.inc()
            await self._on_state(self.name, True, "")
            log.info("MCP server %s is up with %d tools", self.name, len(tools), extra={"mcp_server": self.name})
            try:
                await self._watch(session, closed)
            finally:
                self._mark_down()

    async def _watch(self, session: ClientSession, closed: anyio.Event) -> None:
        """Until the server's stdout closes (it exited) or a ping, every ``ping_interval_s``, fails."""
        why = "the server closed its connection (exited)"

        async def ping() -> None:
            nonlocal why
            if self._in_flight and not self._suspect:
                return  # a call in flight has its own timeout; its result will say if the server is alive
            try:
                with anyio.fail_after(min(self.config.timeout_s, self._ping_timeout_s)):
                    await session.send_ping()
                self._suspect = False
            except Exception as exc:
                why = f"ping failed: {describe(exc)}"
                closed.set()

        pinger = Periodic(f"mcp-ping-{self.name}", self._ping_interval_s, ping, wait_first=True)
        pinger.start()
        try:
            await closed.wait()
        finally:
            await pinger.stop()
        raise Unavailable(why)

    def _mark_down(self) -> bool:
        """Forget the session; True if it was up."""
        if self._session is None:
            return False
        self._session = None
        self._up.clear()
        metrics.SERVERS_UP.dec()
        return True


async def _all_tools(session: ClientSession) -> AsyncIterator[mcp_types.Tool]:
    cursor: str | None = None
    while True:
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        for tool in page.tools:
            yield tool
        cursor = page.next_cursor
        if not cursor:
            return
