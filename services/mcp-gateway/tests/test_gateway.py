"""The gateway in-process: real stdio MCP servers, real gRPC, real SurrealDB, real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from pathlib import Path

import grpc
import pytest
from prometheus_client import REGISTRY
from repokit import rpc_error

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.bus import Bus, ConsumerSpec, Delivery
from vapora_core.errors import ConfigError
from vapora_core.jobtoken import bearer_metadata
from vapora_mcp_gateway.app import McpApp
from vapora_testing.polling import eventually

WS = "ws-acme"
Stub = mcp_pb2_grpc.McpGatewayStub  # with agent-7's job token (conftest.AgentStub)


def call(
    server: str, tool: str, args: object = None, *, ws: str = WS, raw: str | None = None
) -> mcp_pb2.CallToolRequest:
    return mcp_pb2.CallToolRequest(
        server=server,
        tool=tool,
        arguments_json=raw if raw is not None else json.dumps(args or {}),
        workspace_id=ws,
        agent_id="agent-7",
        task_id="task-9",
    )


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_list_tools_returns_the_real_servers_tools(stub: Stub) -> None:
    reply = await stub.ListTools(mcp_pb2.ListToolsRequest(workspace_id=WS))
    names = {(t.server, t.name) for t in reply.tools}
    assert {("workspace", n) for n in ("list_files", "read_file", "search_text", "write_note")} <= names
    assert {("sysinfo", "server_info"), ("sysinfo", "utc_now"), ("sysinfo", "sleep")} <= names
    assert all(t.available for t in reply.tools)
    read_file = next(t for t in reply.tools if t.name == "read_file")
    assert json.loads(read_file.input_schema_json)["required"] == ["path"]
    only = await stub.ListTools(mcp_pb2.ListToolsRequest(workspace_id=WS, server="sysinfo"))
    assert {t.server for t in only.tools} == {"sysinfo"}
    unknown = await rpc_error(stub.ListTools(mcp_pb2.ListToolsRequest(workspace_id=WS, server="nope")))
    assert unknown.code() == grpc.StatusCode.NOT_FOUND


async def test_call_tool_runs_a_real_tool_and_the_call_is_logged_and_published(
    app: McpApp, stub: Stub, nats_url: str
) -> None:
    listener = Bus(nats_url, "test-listener", graceful_timeout=1.0)
    seen: list[mcp_pb2.McpCall] = []
    got = asyncio.Event()

    async def on_call(msg: mcp_pb2.McpCall, delivery: Delivery) -> None:
        seen.append(msg)
        got.set()

    spec = ConsumerSpec(durable="test-mcp-calls", stream="MCP", filter_subjects=("mcp.calls.workspace",))
    await listener.subscribe(spec, mcp_pb2.McpCall, on_call)
    await listener.start()
    try:
        before = counter("vapora_mcp_calls_total", server="workspace", tool="read_file", outcome="ok")
        reply = await stub.CallTool(call("workspace", "read_file", {"path": "src/app.py"}))
        assert not reply.is_error
        assert "hello vapora" in reply.text
        assert json.loads(reply.structured_json)["result"].startswith("def main()")
        assert counter("vapora_mcp_calls_total", server="workspace", tool="read_file", outcome="ok") == before + 1

        await asyncio.wait_for(got.wait(), 10)
        event = seen[0]
        assert (event.server, event.tool, event.workspace_id, event.agent_id, event.task_id) == (
            "workspace",
            "read_file",
            WS,
            "agent-7",
            "task-9",
        )
        assert event.outcome == "ok" and not event.is_error and event.via == "grpc"

        log = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))
        assert [c.id for c in log.calls] == [event.id]
        assert log.calls[0].tool == "read_file" and log.calls[0].at.seconds > 0
    finally:
        await listener.stop()


async def test_search_and_write_note(stub: Stub, data_dir: Path) -> None:
    found = await stub.CallTool(call("workspace", "search_text", {"query": "hello vapora"}))
    assert "src/app.py:2:" in found.text
    note = await stub.CallTool(call("workspace", "write_note", {"name": "summary", "text": "all good"}))
    assert note.text == "notes/summary.md"
    assert (data_dir / "workspace" / "notes" / "summary.md").read_text() == "all good"


BAD_ARGUMENTS = [
    ("{not json", "arguments_json is not valid JSON"),
    ("[1, 2]", "must be a JSON object, got list"),
    ("{}", "'path' is a required property"),
    ('{"path": 7}', "at 'path': 7 is not of type 'string'"),
]


async def test_bad_arguments_are_invalid_argument_naming_the_problem(stub: Stub) -> None:
    for raw, fragment in BAD_ARGUMENTS:
        err = await rpc_error(stub.CallTool(call("workspace", "read_file", raw=raw)))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, raw
        assert fragment in (err.details() or ""), (raw, err.details())
    log = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))
    assert [c.outcome for c in log.calls] == ["invalid_argument"] * len(BAD_ARGUMENTS)


async def test_unknown_server_or_tool_is_not_found_and_the_workspace_comes_from_the_token(
    stub: Stub, anonymous: mcp_pb2_grpc.McpGatewayStub
) -> None:
    err = await rpc_error(stub.CallTool(call("nope", "read_file")))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "no MCP server named 'nope'" in (err.details() or "")
    err = await rpc_error(stub.CallTool(call("workspace", "rm_rf")))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "has no tool 'rm_rf'" in (err.details() or "")
    # no workspace in the request: the token's is used; no token: no call
    reply = await stub.CallTool(call("workspace", "read_file", {"path": "README.md"}, ws=""))
    assert not reply.is_error and "# Demo" in reply.text
    err = await rpc_error(anonymous.CallTool(call("workspace", "read_file", {"path": "README.md"}, ws="")))
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED and "no job token" in (err.details() or "")
    log = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))
    assert [(c.outcome, c.agent_id, c.task_id, c.job_id) for c in log.calls[:1]] == [
        ("ok", "agent-7", "task-9", "job-9")
    ]


async def test_a_path_escaping_the_root_is_refused_as_a_tool_error(stub: Stub) -> None:
    reply = await stub.CallTool(call("workspace", "read_file", {"path": "../secret.txt"}))
    assert reply.is_error
    assert "'../secret.txt' escapes the workspace root" in reply.text
    assert "outside the root" not in reply.text
    log = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))
    assert log.calls[0].outcome == "tool_error" and log.calls[0].is_error


async def test_a_slow_tool_is_deadline_exceeded(stub: Stub) -> None:
    err = await rpc_error(stub.CallTool(call("sysinfo", "sleep", {"seconds": 10})))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "sysinfo.sleep did not answer within 1.5 s" in (err.details() or "")
    log = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS, server="sysinfo"))
    assert log.calls[0].outcome == "timeout"
    # the session survives a timeout
    reply = await stub.CallTool(call("sysinfo", "utc_now"))
    assert not reply.is_error


async def test_workspace_policy_and_call_log_isolation(stub: Stub, token: object) -> None:
    private_agent = bearer_metadata(token(workspace_id="ws-private"))  # type: ignore[operator]
    err = await rpc_error(stub.CallTool(call("private", "utc_now", ws=WS)))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "workspace 'ws-acme' may not use MCP server 'private'" in (err.details() or "")
    visible = await stub.ListTools(mcp_pb2.ListToolsRequest(workspace_id=WS))
    assert "private" not in {t.server for t in visible.tools}
    err = await rpc_error(stub.ListTools(mcp_pb2.ListToolsRequest(workspace_id=WS, server="private")))
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED

    ok = await stub.CallTool(call("private", "utc_now", ws="ws-private"), metadata=private_agent)
    assert not ok.is_error
    mine = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id="ws-private"), metadata=private_agent)
    assert [(c.server, c.outcome) for c in mine.calls] == [("private", "ok")]
    theirs = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))
    assert [(c.server, c.outcome) for c in theirs.calls] == [("private", "permission_denied")]
    assert all(c.workspace_id == WS for c in theirs.calls)
    err = await rpc_error(stub.ListCalls(mcp_pb2.ListCallsRequest()))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_crashed_stdio_server_is_restarted(app: McpApp, stub: Stub) -> None:
    first = json.loads((await stub.CallTool(call("sysinfo", "server_info"))).structured_json)
    os.kill(first["pid"], signal.SIGKILL)

    async def restarted() -> bool:
        try:
            reply = await stub.CallTool(call("sysinfo", "server_info"))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
            return False
        return bool(json.loads(reply.structured_json)["pid"] != first["pid"])

    await eventually(restarted, timeout=30, interval=0.1, what="sysinfo restarted under a new pid")
    assert app.pool is not None and app.pool.connections["sysinfo"].restarts >= 1
    assert counter("vapora_mcp_server_restarts_total", server="sysinfo") >= 1


async def test_a_server_that_stops_answering_pings_is_restarted(
    app: McpApp, stub: mcp_pb2_grpc.McpGatewayStub, caplog: pytest.LogCaptureFixture
) -> None:
    first = json.loads((await stub.CallTool(call("sysinfo", "server_info"))).structured_json)
    os.kill(first["pid"], signal.SIGSTOP)  # alive, but it answers nothing: only a ping can tell
    try:

        async def restarted() -> bool:
            try:
                reply = await stub.CallTool(call("sysinfo", "server_info"))
            except grpc.aio.AioRpcError as exc:
                assert exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED), exc.details()
                return False
            return bool(json.loads(reply.structured_json)["pid"] != first["pid"])

        with caplog.at_level(logging.WARNING, logger="vapora.mcp.connection"):
            await eventually(restarted, timeout=30, interval=0.1, what="sysinfo restarted under a new pid")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(first["pid"], signal.SIGKILL)
    assert any("sysinfo is down" in r.getMessage() and "ping failed" in r.getMessage() for r in caplog.records)
    assert app.pool is not None and app.pool.connections["sysinfo"].restarts >= 1


async def test_reload_applies_a_new_config_and_keeps_the_old_one_when_invalid(
    app: McpApp, stub: Stub, config_file: Path
) -> None:
    good = config_file.read_text()
    config_file.write_text(good.replace('name = "sysinfo"\n', 'name = "sysinfo"\nenabled = false\n'))
    await app.reload()
    reply = await stub.ListTools(mcp_pb2.ListToolsRequest(workspace_id=WS))
    assert "sysinfo" not in {t.server for t in reply.tools}
    err = await rpc_error(stub.CallTool(call("sysinfo", "utc_now")))
    assert err.code() == grpc.StatusCode.NOT_FOUND

    config_file.write_text(good.replace("timeout_s = 1.5", 'timeout_s = "soon"'))
    with pytest.raises(ConfigError, match=r"mcp.toml: servers\[1\].timeout_s"):
        await app.reload()
    reply = await stub.ListTools(mcp_pb2.ListToolsRequest(workspace_id=WS))
    assert "sysinfo" not in {t.server for t in reply.tools}
