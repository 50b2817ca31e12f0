"""The supervised session to one MCP server, against a real stdio server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import textwrap
from pathlib import Path

import pytest

from vapora_core.errors import DeadlineExceeded, Unavailable
from vapora_mcp_gateway.config import ServerConfig
from vapora_mcp_gateway.connection import ServerConnection, ignore_state
from vapora_testing.polling import eventually

# A server whose tool blocks its event loop: while it runs, the server answers no ping.
BLOCKING_SERVER = textwrap.dedent(
    """
    import time
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("blocking", log_level="WARNING")

    @server.tool()
    async def block(seconds: float) -> str:
        time.sleep(seconds)  # on purpose: the loop stops, pings wait
        return f"blocked {seconds} s"

    server.run()
    """
)


async def no_tools(server: str, tools: object) -> None:
    pass


async def started(tmp_path: Path, timeout_s: float) -> ServerConnection:
    script = tmp_path / "blocking.py"
    script.write_text(BLOCKING_SERVER)
    config = ServerConfig(name="blocking", command=sys.executable, args=(str(script),), timeout_s=timeout_s)
    conn = ServerConnection(config, on_tools=no_tools, on_state=ignore_state, ping_interval_s=0.1, ping_timeout_s=0.3)
    conn.start()
    assert await conn.wait_up(20)
    return conn


@pytest.fixture
async def blocking(tmp_path: Path):  # type: ignore[no-untyped-def]
    conn = await started(tmp_path, timeout_s=10)
    yield conn
    await conn.stop()


@pytest.fixture
async def hanging(tmp_path: Path):  # type: ignore[no-untyped-def]
    conn = await started(tmp_path, timeout_s=0.5)  # its calls outlast their timeout
    yield conn
    await conn.stop()


async def test_a_call_busy_past_the_ping_timeout_keeps_its_session(blocking: ServerConnection) -> None:
    """The server answers no ping for 1.5 s, five ping timeouts: the call in flight is the
    proof of life, so the session is not taken for dead and the call gets its result."""
    result = await blocking.call_tool("block", {"seconds": 1.5})
    assert not result.is_error and "blocked 1.5 s" in str(result.content)
    assert blocking.up and blocking.restarts == 0


async def test_a_hung_server_under_steady_calls_is_restarted(
    hanging: ServerConnection, caplog: pytest.LogCaptureFixture
) -> None:
    """Two callers keep a call in flight at every moment, each timing out: the first timeout
    makes the server suspect, so it is pinged despite the calls in flight, and restarted."""

    async def keep_calling() -> None:
        while True:
            with contextlib.suppress(DeadlineExceeded, Unavailable):
                await hanging.call_tool("block", {"seconds": 30})
            await asyncio.sleep(0)

    callers = [asyncio.create_task(keep_calling()) for _ in range(2)]
    try:
        with caplog.at_level(logging.WARNING, logger="vapora.mcp.connection"):
            await eventually(lambda: hanging.restarts, timeout=20, interval=0.1, what="the hung server restarted")
    finally:
        for task in callers:
            task.cancel()
        await asyncio.gather(*callers, return_exceptions=True)
    assert any("blocking is down" in r.getMessage() and "ping failed" in r.getMessage() for r in caplog.records)
