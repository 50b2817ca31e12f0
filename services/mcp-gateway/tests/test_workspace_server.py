"""The workspace MCP server through the official ``mcp`` client over stdio, against a hostile tree."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import ClientSession, StdioServerParameters
from mcp import types as mcp_types
from mcp.client.stdio import stdio_client

ANSWER_S = 20.0  # a call that blocks on a FIFO never answers


def _deep_dir(root: Path, levels: int, name: str = "d" * 200) -> None:
    """Directories nested until their path is longer than the system allows (made relative to an fd)."""
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(levels):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(out, b"NEEDLE deep\n")
        os.close(out)
    finally:
        os.close(fd)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("NEEDLE = 1\n")
    os.mkfifo(root / "pipe")
    os.mkfifo(root / "src" / "pipe.py")
    (root / "loop").symlink_to("loop")
    (root / "ping").symlink_to("pong")
    (root / "pong").symlink_to("ping")
    (root / "dangling").symlink_to("nowhere")
    _deep_dir(root, 25)
    return root


class Server:
    def __init__(self, session: ClientSession, errlog: Path) -> None:
        self.session = session
        self.errlog = errlog

    async def call(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        return await asyncio.wait_for(self.session.call_tool(tool, arguments), ANSWER_S)

    def log_lines(self) -> list[str]:
        return [line for line in self.errlog.read_text().splitlines() if line.strip()]


@pytest.fixture
async def server(tree: Path, tmp_path: Path) -> AsyncIterator[Server]:
    """The server and its client session, opened and closed by one task of their own (anyio's
    scopes must be left by the task that entered them; a fixture's teardown runs in another)."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "vapora_mcp_gateway.servers.workspace", "--root", str(tree)]
    )
    errlog = tmp_path / "workspace.err"
    ready: asyncio.Future[Server] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def run() -> None:
        with errlog.open("w") as err:
            async with stdio_client(params, errlog=err) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                ready.set_result(Server(session, errlog))
                await done.wait()

    owner = asyncio.create_task(run())
    try:
        yield await asyncio.wait_for(ready, 60)
    finally:
        done.set()
        await owner


def _text(result: mcp_types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, mcp_types.TextContent))


async def test_fifos_are_never_opened_so_search_and_listing_answer_every_time(server: Server) -> None:
    for _ in range(5):  # each call used to park a server thread on the FIFO for good
        found = await server.call("search_text", {"query": "NEEDLE"})
        assert not found.is_error, _text(found)
        assert found.structured_content == {"result": ["src/app.py:1: NEEDLE = 1"]}
    listed = await server.call("list_files", {"pattern": "*.py"})
    assert listed.structured_content is not None
    entries = listed.structured_content["result"]
    assert entries[0] == "src/app.py" and "src/pipe.py (skipped: a FIFO)" in entries[1:]
    read = await server.call("read_file", {"path": "pipe"})
    assert read.is_error and "'pipe' is not a file in the workspace" in _text(read)


async def test_loops_and_paths_too_long_are_reported_per_entry_not_as_a_failed_listing(server: Server) -> None:
    listed = await server.call("list_files", {})
    assert not listed.is_error, _text(listed)
    assert listed.structured_content is not None
    entries: list[str] = listed.structured_content["result"]
    assert entries[0] == "src/app.py"  # the listing itself, then what was skipped, each with its reason
    skipped = entries[1:]
    for line in (
        "loop (skipped: a symlink loop)",
        "ping (skipped: a symlink loop)",
        "pong (skipped: a symlink loop)",
        "pipe (skipped: a FIFO)",
        "src/pipe.py (skipped: a FIFO)",
        "dangling (skipped: No such file or directory)",
    ):
        assert line in skipped, (line, skipped)
    too_long = [s for s in skipped if s.endswith("(skipped: cannot be listed: a path longer than the system allows)")]
    assert len(too_long) == 1 and too_long[0].startswith("d" * 120 + "…")
    looped = await server.call("read_file", {"path": "ping"})
    assert looped.is_error and "'ping' is a symlink loop" in _text(looped)


async def test_a_2_mb_path_is_refused_naming_the_limit_with_one_short_log_line(server: Server) -> None:
    for tool, arguments in (
        ("read_file", {"path": "x" * 2_000_000}),
        ("list_files", {"path": "y/" * 1_000_000}),
    ):
        result = await server.call(tool, arguments)
        assert result.is_error
        assert "path has 2,000,000 characters; at most 4096 are allowed" in _text(result)
    lines = server.log_lines()
    assert len(lines) == 2, lines[:5]
    for line in lines:
        assert len(line) < 1000
        assert json.loads(line)["msg"].endswith("path has 2,000,000 characters; at most 4096 are allowed")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(st.characters(codec="utf-8"), max_size=300), tool=st.sampled_from(["read_file", "list_files"]))
async def test_any_path_gets_an_answer_or_a_reason_never_a_bare_failure(server: Server, path: str, tool: str) -> None:
    result = await server.call(tool, {"path": path})
    text = _text(result)
    if result.is_error:
        assert text != f"Error executing tool {tool}", path  # a reason, not the bare failure
        assert len(text) < 1000
    assert not any("Traceback" in line for line in server.log_lines())
