"""The coordinator's in-memory view: agents, learning profiles, current load per agent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2

from vapora_swarm_coordinator.scoring import Candidate, Evidence

HEALTHY = agents_pb2.AGENT_STATUS_HEALTHY


class FleetView:
    def __init__(self) -> None:
        self.agents: dict[str, agents_pb2.Agent] = {}
        self.profiles: dict[tuple[str, str], Evidence] = {}
        self.load: dict[str, int] = {}
        self.registry_loaded = False
        self.profile_types: set[str] = set()
        self.capacity = asyncio.Event()

    # -- registry ----------------------------------------------------------------------

    def set_agents(self, agents: Iterable[agents_pb2.Agent]) -> None:
        self.agents = {a.id: a for a in agents}
        self.registry_loaded = True
        self.capacity.set()

    def upsert_agent(self, agent: agents_pb2.Agent) -> None:
        self.agents[agent.id] = agent
        self.capacity.set()

    def remove_agent(self, agent_id: str) -> None:
        self.agents.pop(agent_id, None)

    # -- profiles ----------------------------------------------------------------------

    def set_profile(self, p: kg_pb2.LearningProfile) -> None:
        self.profiles[(p.agent_id, p.task_type)] = Evidence(
            success_rate=p.success_rate, expertise=p.expertise, confidence=p.confidence, executions=p.executions
        )

    # -- load --------------------------------------------------------------------------

    def add_load(self, agent_id: str, delta: int) -> None:
        self.load[agent_id] = max(0, self.load.get(agent_id, 0) + delta)
        if delta < 0:
            self.capacity.set()

    # -- candidates --------------------------------------------------------------------

    def capable(self, task_type: str, workspace_id: str, exclude: frozenset[str] = frozenset()) -> list[str]:
        """Healthy agents with the capability that may serve the workspace, at any load."""
        return [
            a.id
            for a in self.agents.values()
            if a.status == HEALTHY
            and a.id not in exclude
            and (not a.workspace_id or a.workspace_id == workspace_id)
            and any(c.task_type == task_type for c in a.capabilities)
        ]

    def has_room(self, agent_id: str) -> bool:
        agent = self.agents.get(agent_id)
        limit = agent.max_concurrency if agent is not None else 0
        return limit <= 0 or self.load.get(agent_id, 0) < limit

    def candidates(self, agent_ids: Iterable[str], task_type: str) -> list[Candidate]:
        return [
            Candidate(a, self.load.get(a, 0), self.profiles.get((a, task_type))) for a in agent_ids if self.has_room(a)
        ]
