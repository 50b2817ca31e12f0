"""An MCP server over stdio offering the files of one directory tree to agents.

    python -m vapora_mcp_gateway.servers.workspace --root PATH

Tools: ``list_files``, ``read_file``, ``search_text``, ``write_note``. Every path is relative
to the root; a path escaping it is refused with an error naming the path.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from vapora_mcp_gateway.servers.sandbox import Sandbox, SandboxError


def build_server(root: Path) -> MCPServer:
    sandbox = Sandbox(root)
    server: MCPServer = MCPServer(
        "workspace",
        instructions="Files of the workspace: list, read and search them; write notes under notes/.",
        log_level="WARNING",
    )

    @server.tool()
    def list_files(path: str = ".", pattern: str = "*", limit: int = 500) -> list[str]:
        """List files under a directory of the workspace (relative paths), filtered by a glob pattern."""
        try:
            return sandbox.list_files(path, pattern, max(1, min(limit, 5000)))
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    def read_file(path: str) -> str:
        """Read one text file of the workspace."""
        try:
            return sandbox.read_file(path)
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    def search_text(query: str, path: str = ".", max_results: int = 100) -> list[str]:
        """Find lines containing a literal string; each result is 'path:line: text'."""
        try:
            found = sandbox.search_text(query, path, max(1, min(max_results, 1000)))
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc
        return [f"{m.path}:{m.line}: {m.text}" for m in found]

    @server.tool()
    def write_note(name: str, text: str) -> str:
        """Write a markdown note under notes/ in the workspace; returns the note's path."""
        try:
            return sandbox.write_note(name, text)
        except SandboxError as exc:
            raise ToolError(str(exc)) from exc

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("VAPORA_WORKSPACE_ROOT", "."))
    args = parser.parse_args()
    build_server(Path(args.root)).run("stdio")


if __name__ == "__main__":
    main()
