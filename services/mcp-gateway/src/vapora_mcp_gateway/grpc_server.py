"""The McpGateway gRPC service: decode, call the service, encode."""

from __future__ import annotations

import json
from typing import Any

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.message_check import Limits
from vapora_mcp_gateway.arguments import MAX_ARGUMENTS_BYTES
from vapora_mcp_gateway.messages import call_message
from vapora_mcp_gateway.models import CallContext
from vapora_mcp_gateway.service import GatewayService

SERVICE_NAME = "vapora.mcp.v1.McpGateway"
MAX_NAME_BYTES = 256
# What a request may hold (checked before any work, docs/limits.md): names and ids 256 bytes.
LIMITS = Limits(
    fields={
        "vapora.mcp.v1.CallToolRequest.server": MAX_NAME_BYTES,
        "vapora.mcp.v1.CallToolRequest.tool": MAX_NAME_BYTES,
        "vapora.mcp.v1.CallToolRequest.arguments_json": MAX_ARGUMENTS_BYTES,
        "vapora.mcp.v1.ListToolsRequest.server": MAX_NAME_BYTES,
        "vapora.mcp.v1.ListCallsRequest.server": MAX_NAME_BYTES,
    }
)


class McpGatewayServicer(mcp_pb2_grpc.McpGatewayServicer):
    def __init__(self, service: GatewayService) -> None:
        self._service = service

    async def ListTools(self, request: mcp_pb2.ListToolsRequest, context: Any) -> mcp_pb2.ListToolsResponse:
        tools = self._service.list_tools(request.workspace_id, request.server)
        return mcp_pb2.ListToolsResponse(
            tools=[
                mcp_pb2.Tool(
                    server=t.server,
                    name=t.name,
                    description=t.description,
                    input_schema_json=json.dumps(t.input_schema),
                    available=available,
                )
                for t, available in tools
            ]
        )

    async def CallTool(self, request: mcp_pb2.CallToolRequest, context: Any) -> mcp_pb2.CallToolResponse:
        ctx = CallContext(
            workspace_id=request.workspace_id, agent_id=request.agent_id, task_id=request.task_id, via="grpc"
        )
        result = await self._service.call_tool(request.server, request.tool, request.arguments_json, ctx)
        return mcp_pb2.CallToolResponse(
            is_error=result.is_error,
            text=result.text,
            structured_json=result.structured_json,
            latency_ms=result.latency_ms,
        )

    async def ListCalls(self, request: mcp_pb2.ListCallsRequest, context: Any) -> mcp_pb2.ListCallsResponse:
        calls = await self._service.list_calls(
            request.workspace_id,
            server=request.server,
            agent_id=request.agent_id,
            task_id=request.task_id,
            limit=request.limit,
        )
        return mcp_pb2.ListCallsResponse(calls=[call_message(c) for c in calls])
