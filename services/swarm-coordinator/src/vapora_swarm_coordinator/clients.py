"""gRPC clients: agent-registry (ListAgents) and knowledge-graph (GetLearningProfiles)."""

from __future__ import annotations

from collections.abc import Sequence

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora_core.grpc import call, channel


class RegistryClient:
    def __init__(self, target: str, *, timeout: float) -> None:
        self.target = target
        self._channel = channel(target, timeout=timeout)
        self._stub = agents_pb2_grpc.AgentRegistryStub(self._channel)

    async def list_agents(self) -> list[agents_pb2.Agent]:
        agents: list[agents_pb2.Agent] = []
        token = ""
        while True:
            reply = await self._page(token)
            agents.extend(reply.agents)
            token = reply.next_page_token
            if not token:
                return agents

    async def _page(self, token: str) -> agents_pb2.ListAgentsResponse:
        req = agents_pb2.ListAgentsRequest(page_size=500, page_token=token)
        reply: agents_pb2.ListAgentsResponse = await call(self.target, lambda: self._stub.ListAgents(req))
        return reply

    async def close(self) -> None:
        await self._channel.close()


class KgClient:
    def __init__(self, target: str, *, timeout: float) -> None:
        self.target = target
        self._channel = channel(target, timeout=timeout)
        self._stub = kg_pb2_grpc.KnowledgeGraphStub(self._channel)

    async def profiles(self, agent_ids: Sequence[str], task_type: str) -> list[kg_pb2.LearningProfile]:
        req = kg_pb2.GetLearningProfilesRequest(agent_ids=list(agent_ids), task_type=task_type)
        reply: kg_pb2.GetLearningProfilesResponse = await call(
            self.target, lambda: self._stub.GetLearningProfiles(req), attempts=1
        )
        return list(reply.profiles)

    async def close(self) -> None:
        await self._channel.close()
