"""The gateway's own MCP endpoint, used by a real mcp ClientSession over streamable HTTP."""

from __future__ import annotations

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.errors import ConfigError
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings


async def test_mcp_clients_list_and_call_tools_through_the_same_call_log(
    app: McpApp, stub: mcp_pb2_grpc.McpGatewayStub
) -> None:
    assert app.http is not None
    headers = {"X-Vapora-Workspace-Id": "ws-http", "X-Vapora-Agent-Id": "agent-h", "X-Vapora-Task-Id": "t-1"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(app.http.url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        listed = await session.list_tools()
        names = {t.name for t in listed.tools}
        assert {"workspace.read_file", "workspace.list_files", "sysinfo.server_info"} <= names
        assert "private.utc_now" not in names  # ws-http may not use it

        result = await session.call_tool("workspace.list_files", {"pattern": "*.py"})
        assert not result.is_error
        assert result.structured_content == {"result": ["src/app.py"]}

        escaped = await session.call_tool("workspace.read_file", {"path": "../secret.txt"})
        assert escaped.is_error and "escapes the workspace root" in escaped.content[0].text  # type: ignore[union-attr]

        bad = await session.call_tool("workspace.read_file", {})
        assert bad.is_error and "'path' is a required property" in bad.content[0].text  # type: ignore[union-attr]

    log = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id="ws-http"))
    assert [(c.tool, c.outcome, c.via, c.agent_id, c.task_id) for c in reversed(log.calls)] == [
        ("list_files", "ok", "mcp-http", "agent-h", "t-1"),
        ("read_file", "tool_error", "mcp-http", "agent-h", "t-1"),
        ("read_file", "invalid_argument", "mcp-http", "agent-h", "t-1"),
    ]


async def test_calls_without_a_workspace_header_are_refused(app: McpApp) -> None:
    assert app.http is not None
    async with (
        streamable_http_client(app.http.url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("sysinfo.utc_now", {})
        assert result.is_error
        assert "X-Vapora-Workspace-Id is required" in result.content[0].text  # type: ignore[union-attr]


async def test_with_a_token_every_request_must_carry_it(settings: McpSettings) -> None:
    app = McpApp(settings.model_copy(update={"mcp_http_token": "s3cret-token"}), ping_interval_s=1.0)
    await app.start()
    try:
        assert app.http is not None
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        async with httpx2.AsyncClient(timeout=10) as http:
            for headers, what in [({}, "no Authorization header"), ({"Authorization": "Bearer nope"}, "a wrong")]:
                refused = await http.post(app.http.url, json=ping, headers=headers)
                assert refused.status_code == 401 and what in refused.json()["error"]
                assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        headers = {"Authorization": "Bearer s3cret-token", "X-Vapora-Workspace-Id": "ws-http"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(app.http.url, http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            result = await session.call_tool("sysinfo.utc_now", {})
            assert not result.is_error
    finally:
        await app.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.7", "::"])
async def test_listening_beyond_loopback_without_a_token_is_refused_before_anything_starts(
    settings: McpSettings, host: str
) -> None:
    app = McpApp(settings.model_copy(update={"mcp_http_host": host}))
    with pytest.raises(ConfigError, match=f"listen on {host} with no token; set VAPORA_MCP_HTTP_TOKEN"):
        await app.start()
    assert app.store is None and app.http is None
    await app.stop()
