"""gRPC clients of agent-registry, llm-router and mcp-gateway, with deadlines, trace context and retries.

A job's calls carry its token as ``authorization: Bearer <token>`` (when it has one). Tool
calls are never retried here (a tool may have done something); a failed call is an error the
model reads. The mcp-gateway channel takes replies up to :data:`MAX_TOOL_REPLY_BYTES`: the
runtime cuts results itself, to what a model is given.
"""

from __future__ import annotations

import grpc

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.errors import Internal
from vapora_core.grpc import call, channel

MAX_TOOL_REPLY_BYTES = 32 * 1024 * 1024


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """The metadata that carries a job's token; none without one."""
    return (("authorization", f"Bearer {token}"),) if token else ()


class RegistryClient:
    def __init__(self, target: str, *, timeout: float = 5.0) -> None:
        self.target = target
        self._channel: grpc.aio.Channel = channel(target, timeout=timeout)
        self._stub = agents_pb2_grpc.AgentRegistryStub(self._channel)

    async def register(self, agent: agents_pb2.Agent) -> agents_pb2.Agent:
        reply = await call(self.target, lambda: self._stub.Register(agents_pb2.RegisterRequest(agent=agent)))
        return reply.agent

    async def heartbeat(self, beat: agents_pb2.AgentHeartbeat) -> None:
        await call(self.target, lambda: self._stub.Heartbeat(agents_pb2.HeartbeatRequest(heartbeat=beat)))

    async def deregister(self, agent_id: str) -> None:
        await call(self.target, lambda: self._stub.Deregister(agents_pb2.DeregisterRequest(agent_id=agent_id)))

    async def close(self) -> None:
        await self._channel.close()


class RouterClient:
    """``Complete``, or with ``stream`` ``StreamComplete`` read to its final message: a turn's tool
    calls come whole at the end either way; streaming keeps a long generation's HTTP response
    moving through proxies that cut idle ones."""

    def __init__(self, target: str, *, timeout: float = 120.0, stream: bool = False) -> None:
        self.target = target
        self.stream = stream
        self._channel: grpc.aio.Channel = channel(target, timeout=timeout)
        self._stub = llm_pb2_grpc.LlmRouterStub(self._channel)

    async def complete(self, request: llm_pb2.CompleteRequest, *, token: str = "") -> llm_pb2.CompleteResponse:
        metadata = bearer(token)
        if not self.stream:
            reply: llm_pb2.CompleteResponse = await call(
                self.target, lambda: self._stub.Complete(request, metadata=metadata)
            )
            return reply

        async def streamed() -> llm_pb2.CompleteResponse:
            async for item in self._stub.StreamComplete(request, metadata=metadata):
                if item.HasField("final"):
                    return item.final
            raise Internal(f"{self.target}: StreamComplete ended without its final message")

        return await call(self.target, streamed)

    async def close(self) -> None:
        await self._channel.close()


class McpClient:
    """The catalogue (``ListCatalogue``), the tools a job may use (``ListTools``, the job token's
    view) and its calls (``CallTool``, never retried)."""

    def __init__(self, target: str, *, timeout: float = 60.0, list_timeout: float = 5.0) -> None:
        self.target = target
        self._list_timeout = list_timeout
        self._channel: grpc.aio.Channel = channel(target, timeout=timeout, max_receive_bytes=MAX_TOOL_REPLY_BYTES)
        self._stub = mcp_pb2_grpc.McpGatewayStub(self._channel)

    async def list_catalogue(self) -> mcp_pb2.ListCatalogueResponse:
        """Every configured tool, no identity: the start-up check of the manifests' allowed_tools."""
        reply: mcp_pb2.ListCatalogueResponse = await call(
            self.target, lambda: self._stub.ListCatalogue(mcp_pb2.ListCatalogueRequest(), timeout=self._list_timeout)
        )
        return reply

    async def list_tools(self, *, workspace_id: str, agent_id: str, token: str) -> list[mcp_pb2.Tool]:
        request = mcp_pb2.ListToolsRequest(workspace_id=workspace_id, agent_id=agent_id)
        reply: mcp_pb2.ListToolsResponse = await call(
            "mcp-gateway", lambda: self._stub.ListTools(request, metadata=bearer(token), timeout=self._list_timeout)
        )
        return list(reply.tools)

    async def call_tool(self, request: mcp_pb2.CallToolRequest, *, token: str) -> mcp_pb2.CallToolResponse:
        reply: mcp_pb2.CallToolResponse = await call(
            "mcp-gateway", lambda: self._stub.CallTool(request, metadata=bearer(token)), attempts=1
        )
        return reply

    async def close(self) -> None:
        await self._channel.close()
