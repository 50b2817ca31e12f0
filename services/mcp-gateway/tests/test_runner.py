"""Our command runner over stdio through the real gateway: tests with counts, checks, and the
sandbox (no network), the timeout (killed and reported) and output caps (a 50 MB output)."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.jobtoken import bearer_metadata
from vapora_mcp_gateway.servers.isolation import detect

DEVELOPER = ("runner.run_tests", "runner.run_check", "files.read_text_file")
DEVOPS = ("runner.*",)
needs_bwrap = pytest.mark.skipif(not detect().sandboxed, reason=f"no sandbox here: {detect().why_not}")


@pytest.fixture
def repo(tmp_path: Path, task_roots, make_repo) -> Path:
    root = make_repo(tmp_path / "worktrees" / "task-1")
    task_roots.roots["task-1"] = root
    return root


async def run(stub: mcp_pb2_grpc.McpGatewayStub, md: Any, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    request = mcp_pb2.CallToolRequest(server="runner", tool=tool, arguments_json=json.dumps(args))
    reply = await stub.CallTool(request, metadata=md)
    assert not reply.is_error, reply.text
    result: dict[str, Any] = json.loads(reply.structured_json)
    return result


async def test_run_tests_reports_exit_code_output_and_counts(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    md = bearer_metadata(token(task_id="task-1", tools=DEVELOPER))
    result = await run(wt_anonymous, md, "run_tests", {})
    assert result["exit_code"] == 1 and not result["timed_out"]
    assert result["tests"] == {
        "passed": 2,
        "failed": 1,
        "errors": 0,
        "skipped": 0,
        "source": "junit-xml",
        "total": 3,
    }
    assert "test_is_wrong" in result["stdout"] and "1 failed, 2 passed" in result["stdout"]
    assert result["command"].endswith("-m pytest -q -p no:cacheprovider tests")
    assert result["sandbox"] == ("bwrap" if detect().sandboxed else f"none: {detect().why_not}")

    (repo / "tests" / "test_calc.py").write_text("def test_fixed():\n    assert 2 * 2 == 4\n")
    fixed = await run(wt_anonymous, md, "run_tests", {})
    assert fixed["exit_code"] == 0 and fixed["tests"]["passed"] == 1 and fixed["tests"]["failed"] == 0

    lint = await run(wt_anonymous, md, "run_check", {"name": "lint"})
    assert lint["exit_code"] == 0 and lint["stdout"] == "lint clean\n"
    unknown = await wt_anonymous.CallTool(
        mcp_pb2.CallToolRequest(server="runner", tool="run_check", arguments_json='{"name": "deploy"}'), metadata=md
    )
    assert unknown.is_error and "no check named 'deploy'; configured: lint" in unknown.text


async def test_run_shell_is_refused_to_a_role_whose_manifest_does_not_list_it(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    md = bearer_metadata(token(agent_id="tester", task_id="task-1", tools=DEVELOPER))
    request = mcp_pb2.CallToolRequest(server="runner", tool="run_shell", arguments_json='{"command": "touch x"}')
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await wt_anonymous.CallTool(request, metadata=md)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "agent 'tester' may not call runner.run_shell" in (info.value.details() or "")
    assert not (repo / "x").exists()


@needs_bwrap
async def test_a_command_that_tries_the_network_fails_inside_the_sandbox(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        # the listener is reachable from here: outside the sandbox the same connect works
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        listener.accept()[0].close()
        md = bearer_metadata(token(task_id="task-1", tools=DEVOPS))
        probe = (
            f"{sys.executable} -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3);"
            ' print(\\"connected\\")"'
        )
        result = await run(wt_anonymous, md, "run_shell", {"command": probe})
        assert result["exit_code"] != 0
        assert "connected" not in result["stdout"]
        assert "Network is unreachable" in result["stderr"] or "Connection refused" in result["stderr"]
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing reached the listener
        # and the rest of the machine is read-only inside it, the worktree writable
        wrote = await run(wt_anonymous, md, "run_shell", {"command": f"echo hi > {repo}/out.txt; echo x > /etc/vapora"})
        assert (repo / "out.txt").read_text() == "hi\n"
        assert "Read-only file system" in wrote["stderr"] and not Path("/etc/vapora").exists()
    finally:
        listener.close()


@needs_bwrap
async def test_a_command_past_its_timeout_is_killed_and_reported(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    md = bearer_metadata(token(task_id="task-1", tools=DEVOPS))
    result = await run(
        wt_anonymous, md, "run_shell", {"command": "echo started; sleep 3131; echo finished", "timeout_s": 1}
    )
    assert result["timed_out"] and result["exit_code"] is None
    assert result["error"] == "killed after 1 s (the timeout)"
    assert result["stdout"] == "started\n"
    assert result["duration_s"] < 10
    await asyncio.sleep(0.2)
    assert not [p for p in Path("/proc").glob("[0-9]*/cmdline") if b"sleep\x003131" in _read(p)]
    too_long = await wt_anonymous.CallTool(
        mcp_pb2.CallToolRequest(
            server="runner", tool="run_shell", arguments_json='{"command": "true", "timeout_s": 99}'
        ),
        metadata=md,
    )
    assert too_long.is_error and "timeout_s must be more than 0 and at most 20" in too_long.text


@needs_bwrap
async def test_a_50_mb_output_is_truncated_and_the_result_stays_small(
    wt_anonymous: mcp_pb2_grpc.McpGatewayStub, token, repo: Path
) -> None:
    md = bearer_metadata(token(task_id="task-1", tools=DEVOPS))
    command = "head -c 52428800 /dev/zero | tr '\\0' 'x'; echo; echo the-end"
    request = mcp_pb2.CallToolRequest(
        server="runner", tool="run_shell", arguments_json=json.dumps({"command": command})
    )
    reply = await wt_anonymous.CallTool(request, metadata=md)
    assert not reply.truncated  # the runner cut it; the gateway had nothing left to cut
    result = json.loads(reply.structured_json)
    assert result["exit_code"] == 0 and result["output_truncated"]
    assert result["stdout_bytes"] == 52428800 + len("\nthe-end\n")
    assert result["stdout"].startswith("xxxx") and result["stdout"].endswith("x\nthe-end\n")
    assert "bytes left out by the runner" in result["stdout"]
    assert len(result["stdout"]) < 65536 + 100


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
