"""``McpGateway.CallTool`` held to its limits over real gRPC, before any MCP server is asked."""

from __future__ import annotations

import json

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_testing.edges import NOT_FOR_BAD_INPUT, status_of

WS = "ws-acme"  # the job token's workspace (conftest): the token, not the request, names it
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_file(raw: str, **fields: str) -> mcp_pb2.CallToolRequest:
    base = {"server": "workspace", "tool": "read_file"}
    return mcp_pb2.CallToolRequest(arguments_json=raw, **{**base, **fields})


async def test_unbounded_json_is_invalid_argument_naming_the_limit(stub: mcp_pb2_grpc.McpGatewayStub) -> None:
    cases = [
        (
            '{"path": ' + "1" * 100_000 + "}",
            "arguments_json has a number of 100000 characters; at most 100 are allowed",
        ),
        ('{"path": ' + "[" * 100_000 + "]" * 100_000 + "}", "arguments_json nests deeper than 64 levels"),
        ('{"path": ' + "[" * 70 + "]" * 70 + "}", "arguments_json nests deeper than 64 levels"),
        ('{"path": NaN}', "arguments_json holds NaN, which is not a JSON number"),
        ('{"path": 1e999}', "arguments_json at /path is inf, not a finite number"),
        ('{"path": "a\\u0000b"}', "arguments_json at /path holds a NUL character (U+0000)"),
        ('{"path": "\\ud800"}', "arguments_json at /path holds a lone surrogate (U+D800)"),
        ('{"p": "' + "x" * (1 << 20) + '"}', "arguments_json has 1048585 bytes; at most 1048576 are allowed"),
    ]
    for raw, message in cases:
        code, details = await status_of(stub.CallTool(read_file(raw)))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (raw[:40], code, details)
        assert details.startswith(message), (raw[:40], details)
    code, details = await status_of(stub.CallTool(read_file("{}", tool="t" * 300)))
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "tool has 300 bytes; at most 256 are allowed")
    # every refusal is in the call log, and the log still reads
    calls = await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))
    assert [c.outcome for c in calls.calls] == ["invalid_argument"] * (len(cases) - 1)  # the 1 MB one never decoded


@SETTINGS
@given(path=st.text(st.characters(codec=None), max_size=60))
async def test_any_path_text_escaped_in_json_is_answered_without_a_server_fault(
    stub: mcp_pb2_grpc.McpGatewayStub, path: str
) -> None:
    """Every Unicode category, control characters and lone surrogates included, escaped in JSON."""
    code, details = await status_of(stub.CallTool(read_file(json.dumps({"path": path}))))
    assert code not in NOT_FOR_BAD_INPUT, (path, code, details)
    await stub.ListCalls(mcp_pb2.ListCallsRequest(workspace_id=WS))  # the call log stays readable


@SETTINGS
@given(
    raw=st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
            max_leaves=30,
        ).map(lambda v: json.dumps({"path": v})),
    )
)
async def test_any_arguments_json_is_answered_without_a_server_fault(
    stub: mcp_pb2_grpc.McpGatewayStub, raw: str
) -> None:
    code, details = await status_of(stub.CallTool(read_file(raw)))
    assert code not in NOT_FOR_BAD_INPUT, (raw[:80], code, details)
