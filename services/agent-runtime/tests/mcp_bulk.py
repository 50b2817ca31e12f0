"""A real MCP server over stdio for the loop's tests: a tool whose answer is as big as asked.

python mcp_bulk.py
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer


def main() -> None:
    server: MCPServer = MCPServer("bulk", instructions="Big answers, for tests.", log_level="WARNING")

    @server.tool()
    def emit(size: int) -> str:
        """A text of ``size`` bytes."""
        return "x" * size

    server.run("stdio")


if __name__ == "__main__":
    main()
