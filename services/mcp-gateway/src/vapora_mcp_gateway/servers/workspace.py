"""An MCP server over stdio offering the files of one directory tree to agents.

    python -m vapora_mcp_gateway.servers.workspace --root PATH

Tools: ``list_files``, ``read_file``, ``search_text``, ``write_note``. Every path is relative
to the root; a path escaping it is refused with an error naming the path. ``list_files`` ends
with one ``<path> (skipped: <why>)`` line per entry it could not list (a FIFO, a symlink loop, a
path too long for the system): see :mod:`~vapora_mcp_gateway.servers.sandbox`. A refused
request is a tool error, logged in one line (logs are JSON lines on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from vapora_core.logging import setup_logging
from vapora_mcp_gateway.servers.sandbox import Sandbox, SandboxError, cut

log = logging.getLogger("vapora.mcp.workspace")


@contextlib.contextmanager
def refusals(tool: str) -> Iterator[None]:
    """A request the sandbox refuses becomes the tool's error, logged in one line."""
    try:
        yield
    except SandboxError as exc:
        log.warning("%s refused: %s", tool, exc)
        raise ToolError(str(exc)) from None


def build_server(root: Path) -> MCPServer:
    sandbox = Sandbox(root)
    server: MCPServer = MCPServer(
        "workspace",
        instructions="Files of the workspace: list, read and search them; write notes under notes/.",
        log_level="WARNING",
    )

    @server.tool()
    def list_files(path: str = ".", pattern: str = "*", limit: int = 500) -> list[str]:
        """List files under a directory of the workspace (relative paths), filtered by a glob pattern.
        Entries that could not be listed come last, as '<path> (skipped: <why>)'."""
        with refusals("list_files"):
            listing = sandbox.listing(path, pattern, max(1, min(limit, 5000)))
        return listing.files + [f"{cut(s.path)} (skipped: {s.reason})" for s in listing.skipped]

    @server.tool()
    def read_file(path: str) -> str:
        """Read one text file of the workspace."""
        with refusals("read_file"):
            return sandbox.read_file(path)

    @server.tool()
    def search_text(query: str, path: str = ".", max_results: int = 100) -> list[str]:
        """Find lines containing a literal string; each result is 'path:line: text'."""
        with refusals("search_text"):
            found = sandbox.search_text(query, path, max(1, min(max_results, 1000)))
        return [f"{m.path}:{m.line}: {m.text}" for m in found]

    @server.tool()
    def write_note(name: str, text: str) -> str:
        """Write a markdown note under notes/ in the workspace; returns the note's path."""
        with refusals("write_note"):
            return sandbox.write_note(name, text)

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("VAPORA_WORKSPACE_ROOT", "."))
    args = parser.parse_args()
    setup_logging("mcp-workspace", "WARNING")  # before MCPServer, whose own handler spreads a line over many
    build_server(Path(args.root)).run("stdio")


if __name__ == "__main__":
    main()
