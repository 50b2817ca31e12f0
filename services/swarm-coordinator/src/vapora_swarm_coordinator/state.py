"""The coordinator's in-memory view: agents, learning profiles, current load per agent."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterable

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora_swarm_coordinator import scoring
from vapora_swarm_coordinator.scoring import Candidate, Evidence

HEALTHY = agents_pb2.AGENT_STATUS_HEALTHY


class FleetView:
    """Agents indexed by the task types they can take (healthy ones only), so the candidates
    of a task cost one dictionary walk over the capable agents, not the whole fleet."""

    def __init__(self) -> None:
        self.agents: dict[str, agents_pb2.Agent] = {}
        self._by_type: dict[str, dict[str, tuple[str, int]]] = {}  # type → id → (workspace, max_concurrency)
        self.profiles: dict[tuple[str, str], Evidence] = {}
        self.load: dict[str, int] = {}
        self.registry_loaded = False
        self.profile_types: set[str] = set()
        self.capacity = asyncio.Event()
        # type → (learning mode, capable agents by descending score at load 0, then id); rebuilt lazily
        self._order: dict[str, tuple[bool, list[tuple[float, str]]]] = {}

    # -- registry ----------------------------------------------------------------------

    def set_agents(self, agents: Iterable[agents_pb2.Agent]) -> None:
        self.agents = {a.id: a for a in agents}
        self._by_type = {}
        self._order.clear()
        for a in self.agents.values():
            self._index(a)
        self.registry_loaded = True
        self.capacity.set()

    def upsert_agent(self, agent: agents_pb2.Agent) -> None:
        self.remove_agent(agent.id)
        self.agents[agent.id] = agent
        self._index(agent)
        self.capacity.set()

    def remove_agent(self, agent_id: str) -> None:
        old = self.agents.pop(agent_id, None)
        if old is not None:
            self._order.clear()
            for c in old.capabilities:
                self._by_type.get(c.task_type, {}).pop(agent_id, None)

    def _index(self, agent: agents_pb2.Agent) -> None:
        self._order.clear()
        if agent.status != HEALTHY:
            return
        entry = (agent.workspace_id, agent.max_concurrency)
        for c in agent.capabilities:
            self._by_type.setdefault(c.task_type, {})[agent.id] = entry

    # -- profiles ----------------------------------------------------------------------

    def set_profile(self, p: kg_pb2.LearningProfile) -> None:
        self.profiles[(p.agent_id, p.task_type)] = Evidence(
            success_rate=p.success_rate, expertise=p.expertise, confidence=p.confidence, executions=p.executions
        )
        self._order.pop(p.task_type, None)

    # -- load --------------------------------------------------------------------------

    def add_load(self, agent_id: str, delta: int) -> None:
        self.load[agent_id] = max(0, self.load.get(agent_id, 0) + delta)
        if delta < 0:
            self.capacity.set()

    # -- candidates --------------------------------------------------------------------

    def capable(self, task_type: str, workspace_id: str, exclude: frozenset[str] = frozenset()) -> list[str]:
        """Healthy agents with the capability that may serve the workspace, at any load."""
        return [
            agent_id
            for agent_id, (ws, _) in self._by_type.get(task_type, {}).items()
            if (not ws or ws == workspace_id) and agent_id not in exclude
        ]

    def has_room(self, agent_id: str) -> bool:
        agent = self.agents.get(agent_id)
        limit = agent.max_concurrency if agent is not None else 0
        return limit <= 0 or self.load.get(agent_id, 0) < limit

    def candidates(self, agent_ids: Iterable[str], task_type: str) -> list[Candidate]:
        """The agents among ``agent_ids`` with room (``load < max_concurrency``, 0 = no cap)."""
        limits = self._by_type.get(task_type, {})
        load, profiles = self.load, self.profiles
        out = []
        for a in agent_ids:
            n = load.get(a, 0)
            entry = limits.get(a)
            limit = entry[1] if entry is not None else 0
            if limit <= 0 or n < limit:
                out.append(Candidate(a, n, profiles.get((a, task_type))))
        return out

    # -- the best candidates (the hot path) ----------------------------------------------

    def _ordered(self, task_type: str) -> tuple[bool, list[tuple[float, str]]]:
        cached = self._order.get(task_type)
        if cached is None:
            capable = self._by_type.get(task_type, {})
            learning = any(scoring.has_data(self.profiles.get((a, task_type))) for a in capable)
            order = sorted(
                (-scoring.upper_bound(self.profiles.get((a, task_type)), learning=learning), a) for a in capable
            )
            cached = self._order[task_type] = (learning, order)
        return cached

    def best(
        self, task_type: str, workspace_id: str, k: int, exclude: frozenset[str] = frozenset()
    ) -> list[tuple[Candidate, scoring.Score]]:
        """The ``k`` best candidates with their scores, best first — ``scoring.rank`` order.

        Learning mode holds when any healthy agent capable of the type has data. Agents are
        walked by their score at load 0 (an upper bound), so the walk stops as soon as no
        remaining agent can beat the k-th best found: with spare capacity, a handful of agents
        are scored instead of the whole fleet.
        """
        learning, order = self._ordered(task_type)
        capable = self._by_type.get(task_type, {})
        load, profiles = self.load, self.profiles
        kept: list[tuple[float, int, str]] = []  # (-total, load, id), ascending = best first
        for neg_ub, agent_id in order:
            if len(kept) >= k:
                worst = kept[-1]
                if -neg_ub < -worst[0] or (-neg_ub == -worst[0] and worst[1] == 0):
                    break
            ws, limit = capable[agent_id]
            n = load.get(agent_id, 0)
            if (ws and ws != workspace_id) or agent_id in exclude or (0 < limit <= n):
                continue
            if not learning:
                t = 1.0 / (1 + n)
            else:
                e = profiles.get((agent_id, task_type))
                if e is None or e.executions <= 0:
                    t = scoring.total_at(scoring.PRIOR_SUCCESS_RATE, n, scoring.PRIOR_EXPERTISE, 0.0)
                else:
                    t = scoring.total_at(e.success_rate, n, e.expertise, e.confidence)
            key = (-t, n, agent_id)
            if len(kept) < k:
                bisect.insort(kept, key)
            elif key < kept[-1]:
                kept.pop()
                bisect.insort(kept, key)
        out = []
        for _, n, agent_id in kept:
            e = profiles.get((agent_id, task_type))
            out.append((Candidate(agent_id, n, e), scoring.score(n, e, learning=learning)))
        return out
