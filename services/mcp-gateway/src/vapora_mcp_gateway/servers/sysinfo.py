"""An MCP server over stdio with a few harmless facts about itself and the clock.

    python -m vapora_mcp_gateway.servers.sysinfo

Tools: ``server_info`` (pid, Python, platform, uptime), ``utc_now``, ``sleep`` (at most 60 s;
for checking deadlines end to end).
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from datetime import UTC, datetime

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

MAX_SLEEP_S = 60.0


def build_server() -> MCPServer:
    started = time.monotonic()
    server: MCPServer = MCPServer("sysinfo", instructions="Facts about this server and the clock.", log_level="WARNING")

    @server.tool()
    def server_info() -> dict[str, object]:
        """The server process: pid, Python version, platform and uptime in seconds."""
        return {
            "pid": os.getpid(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "uptime_s": round(time.monotonic() - started, 3),
        }

    @server.tool()
    def utc_now() -> str:
        """The current time in UTC, ISO 8601."""
        return datetime.now(UTC).isoformat()

    @server.tool()
    async def sleep(seconds: float) -> str:
        """Wait for some seconds (at most 60), then answer."""
        if not 0 <= seconds <= MAX_SLEEP_S:
            raise ToolError(f"seconds must be between 0 and {MAX_SLEEP_S:.0f}, got {seconds}")
        await asyncio.sleep(seconds)
        return f"slept {seconds} s"

    return server


def main() -> None:
    build_server().run("stdio")


if __name__ == "__main__":
    main()
