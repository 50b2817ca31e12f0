"""gRPC edge of the registry: decode, call the directory, encode."""

from __future__ import annotations

from typing import Any

import grpc

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_agent_registry.directory import AgentDirectory
from vapora_core.errors import InvalidArgument

SERVICE_NAME = "vapora.agents.v1.AgentRegistry"
Context = grpc.aio.ServicerContext[Any, Any]


class AgentRegistryServicer(agents_pb2_grpc.AgentRegistryServicer):
    def __init__(self, directory: AgentDirectory) -> None:
        self._directory = directory

    async def Register(self, request: agents_pb2.RegisterRequest, context: Context) -> agents_pb2.RegisterResponse:
        if not request.HasField("agent"):
            raise InvalidArgument("agent is required")
        return agents_pb2.RegisterResponse(agent=await self._directory.register(request.agent))

    async def Deregister(
        self, request: agents_pb2.DeregisterRequest, context: Context
    ) -> agents_pb2.DeregisterResponse:
        if not request.agent_id:
            raise InvalidArgument("agent_id is required")
        await self._directory.deregister(request.agent_id)
        return agents_pb2.DeregisterResponse()

    async def Heartbeat(self, request: agents_pb2.HeartbeatRequest, context: Context) -> agents_pb2.HeartbeatResponse:
        if not request.HasField("heartbeat"):
            raise InvalidArgument("heartbeat is required")
        status = await self._directory.heartbeat(request.heartbeat)
        return agents_pb2.HeartbeatResponse(status=status)

    async def GetAgent(self, request: agents_pb2.GetAgentRequest, context: Context) -> agents_pb2.Agent:
        if not request.agent_id:
            raise InvalidArgument("agent_id is required")
        return self._directory.registry.get(request.agent_id)

    async def ListAgents(
        self, request: agents_pb2.ListAgentsRequest, context: Context
    ) -> agents_pb2.ListAgentsResponse:
        agents, token = self._directory.registry.list_agents(
            role=request.role,
            capability=request.capability,
            status=request.status,
            page_size=request.page_size,
            page_token=request.page_token,
            workspace_id=request.workspace_id,
        )
        return agents_pb2.ListAgentsResponse(agents=agents, next_page_token=token)
