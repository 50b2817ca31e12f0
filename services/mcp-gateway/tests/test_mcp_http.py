"""The gateway's own MCP endpoint, used by a real mcp ClientSession over streamable HTTP."""

from __future__ import annotations

import time

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from vapora.mcp.v1 import mcp_pb2
from vapora_core.errors import ConfigError
from vapora_core.jobtoken import JobClaims, JobSigner, generate_key_pair
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings


async def test_mcp_clients_list_and_call_tools_through_the_same_call_log(app: McpApp, stub, token) -> None:
    assert app.http is not None
    bearer = token(workspace_id="ws-http", agent_id="agent-h", task_id="t-1")
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {bearer}"}, timeout=30) as http,
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


async def test_identity_headers_are_ignored_and_every_request_needs_a_valid_job_token(app: McpApp, token) -> None:
    assert app.http is not None
    other_private, _ = generate_key_pair()
    forged = JobSigner(other_private).sign(
        JobClaims.issue(agent_id="agent-7", role="r", workspace_id="ws-acme", task_id="t", job_id="j", lifetime_s=60)
    )
    expired = token(lifetime_s=1, now=time.time() - 600)
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    cases = [
        ({"X-Vapora-Workspace-Id": "ws-acme", "X-Vapora-Agent-Id": "agent-7"}, "no job token"),
        ({"Authorization": "Bearer nope"}, "not valid"),
        ({"Authorization": f"Bearer {forged}"}, "signature does not verify"),
        ({"Authorization": f"Bearer {expired}"}, "has expired"),
    ]
    async with httpx2.AsyncClient(timeout=10) as http:
        for headers, reason in cases:
            refused = await http.post(app.http.url, json=ping, headers=headers)
            assert refused.status_code == 401, headers
            assert reason in refused.json()["error"], (headers, refused.json())
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token()}"}, timeout=30) as http,
        streamable_http_client(app.http.url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("sysinfo.utc_now", {})
        assert not result.is_error


async def test_without_a_verify_key_the_service_refuses_to_start_naming_the_setting(settings: McpSettings) -> None:
    app = McpApp(settings.model_copy(update={"job_verify_key": ""}))
    with pytest.raises(ConfigError, match="VAPORA_JOB_VERIFY_KEY: is not set"):
        await app.start()
    assert app.store is None and app.http is None
    await app.stop()
