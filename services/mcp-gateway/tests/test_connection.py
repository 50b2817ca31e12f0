"""The supervised session to one MCP server, against a real stdio server."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from vapora_mcp_gateway.config import ServerConfig
from vapora_mcp_gateway.connection import ServerConnection, ignore_state

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


@pytest.fixture
async def blocking(tmp_path: Path):  # type: ignore[no-untyped-def]
    script = tmp_path / "blocking.py"
    script.write_text(BLOCKING_SERVER)
    config = ServerConfig(name="blocking", command=sys.executable, args=(str(script),), timeout_s=10)
    conn = ServerConnection(config, on_tools=no_tools, on_state=ignore_state, ping_interval_s=0.1, ping_timeout_s=0.3)
    conn.start()
    assert await conn.wait_up(20)
    yield conn
    await conn.stop()


async def test_a_call_busy_past_the_ping_timeout_keeps_its_session(blocking: ServerConnection) -> None:
    """The server answers no ping for 1.5 s, five ping timeouts: the call in flight is the
    proof of life, so the session is not taken for dead and the call gets its result."""
    result = await blocking.call_tool("block", {"seconds": 1.5})
    assert not result.is_error and "blocked 1.5 s" in str(result.content)
    assert blocking.up and blocking.restarts == 0
