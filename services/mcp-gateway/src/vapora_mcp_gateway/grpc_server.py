"""The McpGateway gRPC service: authenticate, decode, call the service, encode.

``ListTools`` and ``CallTool`` act for the agent of the job token in the call's metadata
(``authorization: Bearer <job token>``); no or a bad token is UNAUTHENTICATED. ``ListCatalogue``
and ``ListCalls`` take no identity: they are for internal callers (the runtime's start-up
check, the api-gateway) on the cluster network.
"""

from __future__ import annotations

import json
from typing import Any

import grpc

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.jobtoken import METADATA_KEY
from vapora_core.message_check import Limits
from vapora_mcp_gateway.arguments import MAX_ARGUMENTS_BYTES
from vapora_mcp_gateway.identity import Authenticator
from vapora_mcp_gateway.messages import call_message
from vapora_mcp_gateway.models import ToolInfo
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


def authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == METADATA_KEY and isinstance(value, str):
            return value
    return ""


def _tool(tool: ToolInfo, available: bool) -> mcp_pb2.Tool:
    return mcp_pb2.Tool(
        server=tool.server,
        name=tool.name,
        description=tool.description,
        input_schema_json=json.dumps(tool.input_schema),
        available=available,
    )


class McpGatewayServicer(mcp_pb2_grpc.McpGatewayServicer):
    def __init__(self, service: GatewayService, auth: Authenticator) -> None:
        self._service = service
        self._auth = auth

    async def ListTools(
        self, request: mcp_pb2.ListToolsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> mcp_pb2.ListToolsResponse:
        ctx = self._auth.caller(
            authorization(context), via="grpc", workspace_id=request.workspace_id, agent_id=request.agent_id
        )
        tools = await self._service.list_tools(ctx, request.server)
        return mcp_pb2.ListToolsResponse(tools=[_tool(t, available) for t, available in tools])

    async def CallTool(
        self, request: mcp_pb2.CallToolRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> mcp_pb2.CallToolResponse:
        ctx = self._auth.caller(
            authorization(context),
            via="grpc",
            workspace_id=request.workspace_id,
            agent_id=request.agent_id,
            task_id=request.task_id,
        )
        result = await self._service.call_tool(request.server, request.tool, request.arguments_json, ctx)
        return mcp_pb2.CallToolResponse(
            is_error=result.is_error,
            text=result.text,
            structured_json=result.structured_json,
            latency_ms=result.latency_ms,
            truncated=result.truncated,
        )

    async def ListCatalogue(self, request: mcp_pb2.ListCatalogueRequest, context: Any) -> mcp_pb2.ListCatalogueResponse:
        tools, servers = self._service.list_catalogue()
        return mcp_pb2.ListCatalogueResponse(
            tools=[_tool(t, available) for t, available in tools],
            servers=[mcp_pb2.CatalogueServer(name=s.name, scope=s.scope, tools_known=s.tools_known) for s in servers],
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
