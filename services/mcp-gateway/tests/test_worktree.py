"""Worktree-scoped servers through the real gateway: mcp-server-git, the npm filesystem server and
our runner, one session per job worktree (a real git repository), behind per-agent tool views."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import grpc
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from repokit import TOOLS_DIR, WS, rpc_error

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.jobtoken import bearer_metadata
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.config import ServerConfig
from vapora_mcp_gateway.sessions import RootSessions
from vapora_testing.polling import eventually

READ_TOOLS = (
    "files.read_text_file",
    "files.list_directory",
    "files.search_files",
    "git.git_status",
    "git.git_diff_unstaged",
    "git.git_log",
    "git.git_show",
)
WRITE_TOOLS = ("files.write_file", "files.edit_file", "git.git_add", "runner.run_tests", "runner.run_check")


def call(server: str, tool: str, args: object = None, **ids: str) -> mcp_pb2.CallToolRequest:
    return mcp_pb2.CallToolRequest(server=server, tool=tool, arguments_json=json.dumps(args or {}), **ids)


@pytest.fixture
def repo(tmp_path: Path, task_roots, make_repo) -> Path:
    root = make_repo(tmp_path / "worktrees" / "task-1")
    task_roots.roots["task-1"] = root
    return root


async def test_worktree_servers_are_probed_into_the_catalogue_without_the_root_argument(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub,
) -> None:
    catalogue = await wt_anonymous.ListCatalogue(mcp_pb2.ListCatalogueRequest())
    servers = {s.name: (s.scope, s.tools_known) for s in catalogue.servers}
    assert servers == {
        "git": ("worktree", True),
        "files": ("worktree", True),
        "runner": ("worktree", True),
        "sysinfo": ("shared", True),
    }
    names = {f"{t.server}.{t.name}" for t in catalogue.tools}
    assert {*READ_TOOLS, *WRITE_TOOLS, "runner.run_shell", "git.git_commit", "sysinfo.utc_now"} <= names
    git_status = next(t for t in catalogue.tools if t.name == "git_status")
    schema = json.loads(git_status.input_schema_json)
    assert "repo_path" not in schema.get("properties", {}) and "repo_path" not in schema.get("required", [])
    assert all(t.available for t in catalogue.tools)


async def test_a_read_only_role_sees_no_write_tools_and_a_direct_write_is_refused(
    worktree_app: McpApp, wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    reviewer = bearer_metadata(
        token(agent_id="code-reviewer", role="code-reviewer", task_id="task-1", tools=READ_TOOLS)
    )
    listed = await wt_anonymous.ListTools(mcp_pb2.ListToolsRequest(), metadata=reviewer)
    assert {f"{t.server}.{t.name}" for t in listed.tools} == set(READ_TOOLS)

    read = await wt_anonymous.CallTool(call("files", "read_text_file", {"path": "README.md"}), metadata=reviewer)
    assert not read.is_error and "# Demo project" in read.text

    write = {"path": "README.md", "content": "defaced"}
    err = await rpc_error(wt_anonymous.CallTool(call("files", "write_file", write), metadata=reviewer))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "agent 'code-reviewer' may not call files.write_file" in (err.details() or "")
    err = await rpc_error(
        wt_anonymous.CallTool(call("runner", "run_shell", {"command": "rm -rf ."}), metadata=reviewer)
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (repo / "README.md").read_text() == "# Demo project\n"

    # the MCP endpoint enforces the same view
    assert worktree_app.http is not None
    async with (
        httpx2.AsyncClient(headers={"Authorization": reviewer[0][1]}, timeout=30) as http,
        streamable_http_client(worktree_app.http.url, http_client=http) as (read_stream, write_stream),
        ClientSession(read_stream, write_stream) as session,
    ):
        await session.initialize()
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == set(READ_TOOLS)
        refused = await session.call_tool("files.write_file", write)
        assert refused.is_error and "may not call files.write_file" in refused.content[0].text  # type: ignore[union-attr]
    assert (repo / "README.md").read_text() == "# Demo project\n"

    log = await wt_anonymous.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS, agent_id="code-reviewer"))
    assert [(c.tool, c.outcome) for c in reversed(log.calls)] == [
        ("read_text_file", "ok"),
        ("write_file", "permission_denied"),
        ("run_shell", "permission_denied"),
        ("write_file", "permission_denied"),
    ]
    assert all(c.task_id == "task-1" and c.job_id == "job-9" for c in log.calls)


async def test_identity_fields_that_differ_from_the_token_are_refused(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    reviewer = bearer_metadata(token(agent_id="code-reviewer", task_id="task-1", tools=READ_TOOLS))
    request = call("files", "read_text_file", {"path": "README.md"}, agent_id="developer")
    err = await rpc_error(wt_anonymous.CallTool(request, metadata=reviewer))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "agent_id 'developer' is not the job token's ('code-reviewer')" in (err.details() or "")
    err = await rpc_error(wt_anonymous.ListTools(mcp_pb2.ListToolsRequest(workspace_id="ws-other"), metadata=reviewer))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_task_without_a_worktree_is_failed_precondition(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token
) -> None:
    md = bearer_metadata(token(task_id="task-without-repo", project_id="proj-1", tools=READ_TOOLS))
    err = await rpc_error(wt_anonymous.CallTool(call("git", "git_status"), metadata=md))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no worktree for task 'task-without-repo': attach a repository to its project 'proj-1'" in (
        err.details() or ""
    )


async def test_git_tools_get_the_worktree_as_repo_path_and_refuse_another(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path, tmp_path: Path, make_repo
) -> None:
    md = bearer_metadata(token(task_id="task-1", tools=("git.*", "files.*")))
    (repo / "src" / "calc.py").write_text("def add(a, b):\n    return a + b + 0\n")
    status = await wt_anonymous.CallTool(call("git", "git_status"), metadata=md)
    assert not status.is_error and "modified:   src/calc.py" in status.text
    diff = await wt_anonymous.CallTool(call("git", "git_diff_unstaged"), metadata=md)
    assert "+    return a + b + 0" in diff.text
    log = await wt_anonymous.CallTool(call("git", "git_log", {"repo_path": str(repo)}), metadata=md)
    assert "initial commit" in log.text

    other = make_repo(tmp_path / "elsewhere")
    for repo_path in (str(other), "/", "../elsewhere"):
        err = await rpc_error(wt_anonymous.CallTool(call("git", "git_log", {"repo_path": repo_path}), metadata=md))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, repo_path
        assert "'repo_path' is set by the gateway to the job's worktree" in (err.details() or "")


async def test_path_traversal_in_tool_arguments_is_refused_with_a_clear_error(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path, tmp_path: Path
) -> None:
    md = bearer_metadata(token(task_id="task-1", tools=("git.*", "files.*")))
    secret = tmp_path / "worktrees" / "secret.txt"
    secret.write_text("the secret outside the worktree")
    os.symlink(secret, repo / "link.txt")
    for path in ("../secret.txt", str(secret), "/etc/passwd", "link.txt", "src/../../secret.txt"):
        reply = await wt_anonymous.CallTool(call("files", "read_text_file", {"path": path}), metadata=md)
        assert reply.is_error, path
        assert "Access denied" in reply.text, (path, reply.text)
        assert "the secret" not in reply.text
    wrote = await wt_anonymous.CallTool(
        call("files", "write_file", {"path": "../escaped.txt", "content": "x"}), metadata=md
    )
    assert wrote.is_error and "Access denied" in wrote.text
    assert not (tmp_path / "worktrees" / "escaped.txt").exists()
    added = await wt_anonymous.CallTool(call("git", "git_add", {"files": ["../secret.txt"]}), metadata=md)
    assert added.is_error and "is outside the repository" in added.text


async def test_a_10_mb_result_is_truncated_with_a_marker_and_the_session_stays_usable(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    md = bearer_metadata(token(task_id="task-1", tools=("files.*",)))
    (repo / "big.txt").write_text(("0123456789abcdef" * 64 + "\n") * 10_000)  # ~10 MB
    reply = await wt_anonymous.CallTool(call("files", "read_text_file", {"path": "big.txt"}), metadata=md)
    assert reply.truncated and not reply.is_error
    assert reply.text.startswith("0123456789abcdef")
    assert "[truncated by mcp-gateway: the result had" in reply.text and "the limit is 1048576]" in reply.text
    assert len(reply.text.encode()) < 1_048_576 + 200
    assert reply.structured_json == ""
    small = await wt_anonymous.CallTool(call("files", "read_text_file", {"path": "README.md"}), metadata=md)
    assert not small.truncated and small.text == "# Demo project\n"


async def test_sessions_are_per_worktree_and_closed_when_the_root_is_released(
    worktree_app: McpApp, wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, task_roots, make_repo, tmp_path: Path
) -> None:
    one = make_repo(tmp_path / "worktrees" / "task-a")
    two = make_repo(tmp_path / "worktrees" / "task-b")
    task_roots.roots.update({"task-a": one, "task-b": two})
    md_a = bearer_metadata(token(task_id="task-a", tools=("files.*",)))
    md_b = bearer_metadata(token(task_id="task-b", tools=("files.*",)))
    write = {"path": "NOTES.md", "content": "only in a"}
    assert not (await wt_anonymous.CallTool(call("files", "write_file", write), metadata=md_a)).is_error
    listed = await wt_anonymous.CallTool(call("files", "list_directory", {"path": "."}), metadata=md_b)
    assert "NOTES.md" not in listed.text and "README.md" in listed.text
    assert (one / "NOTES.md").read_text() == "only in a" and not (two / "NOTES.md").exists()

    assert worktree_app.pool is not None
    assert sorted(worktree_app.pool.roots.open_roots()["files"]) == sorted([one, two])
    assert await worktree_app.release_root(one) == 1
    assert worktree_app.pool.roots.open_roots()["files"] == [two]
    # a later call for a released root opens a new session
    again = await wt_anonymous.CallTool(call("files", "read_text_file", {"path": "NOTES.md"}), metadata=md_a)
    assert again.text == "only in a"


async def test_an_idle_worktree_session_is_closed_and_its_server_process_ends(make_repo, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "worktrees" / "idle")
    config = ServerConfig(
        name="files",
        scope="worktree",
        command="node",
        args=(str(TOOLS_DIR / "files/node_modules/@modelcontextprotocol/server-filesystem/dist/index.js"), "{root}"),
    )

    async def no_tools(server: str, tools: object) -> None:
        return None

    sessions = RootSessions(on_tools=no_tools, idle_s=0.3)
    sessions.start()
    try:
        async with sessions.session(config, root) as conn:
            listed = await conn.call_tool("list_directory", {"path": str(root)})
            assert "README.md" in listed.content[0].text  # type: ignore[union-attr]
            await asyncio.sleep(0.8)  # a call in flight keeps its session, however long it takes
            assert sessions.open_roots() == {"files": [root]}
        assert server_processes(root), "the filesystem server should run while its session is open"
        await eventually(lambda: not sessions.open_roots(), timeout=5.0, what="the idle session closed")
        assert sessions.open_roots() == {}
        await eventually(lambda: not server_processes(root), timeout=5.0, what="the filesystem server gone")
        assert server_processes(root) == []
    finally:
        await sessions.stop()


def server_processes(root: Path) -> list[int]:
    """Pids of live processes whose command line names ``root``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(root) in text and "server-filesystem" in text and state != "Z":
            found.append(int(cmdline.parent.name))
    return found
