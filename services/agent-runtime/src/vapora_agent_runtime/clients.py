"""gRPC clients of agent-registry, llm-router and mcp-gateway, with deadlines, trace context and retries."""

from __future__ import annotations

import grpc

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.grpc import call, channel


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
    def __init__(self, target: str, *, timeout: float = 120.0) -> None:
        self.target = target
        self._channel: grpc.aio.Channel = channel(target, timeout=timeout)
        self._stub = llm_pb2_grpc.LlmRouterStub(self._channel)

    async def complete(self, request: llm_pb2.CompleteRequest) -> llm_pb2.CompleteResponse:
        reply: llm_pb2.CompleteResponse = await call(self.target, lambda: self._stub.Complete(request))
        return reply

    async def close(self) -> None:
        await self._channel.close()


class McpClient:
    def __init__(self, target: str, *, timeout: float = 5.0) -> None:
        self.target = target
        self._channel: grpc.aio.Channel = channel(target, timeout=timeout)
        self._stub = mcp_pb2_grpc.McpGatewayStub(self._channel)

    async def list_catalogue(self) -> mcp_pb2.ListCatalogueResponse:
        reply: mcp_pb2.ListCatalogueResponse = await call(
            self.target, lambda: self._stub.ListCatalogue(mcp_pb2.ListCatalogueRequest())
        )
        return reply

    async def close(self) -> None:
        await self._channel.close()
