"""The coordinator's in-memory view: agents, learning profiles, current load per agent."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora_swarm_coordinator import scoring
from vapora_swarm_coordinator.scoring import Candidate, Evidence
from vapora_swarm_coordinator.thompson import Recent

HEALTHY = agents_pb2.AGENT_STATUS_HEALTHY

# (-total, load, -prior, agent id, version, the candidate, its score): heap order == scoring.rank
# order (the candidate and score follow the version, so they are never compared)
Entry = tuple[float, int, float, str, int, Candidate, scoring.Score]
# another policy than the seed's: (the candidates with room, task type, recent evidence) → ranked,
# best first
Sampler = Callable[[Sequence[Candidate], str, Mapping[tuple[str, str], Recent]], list[tuple[Candidate, scoring.Score]]]


class FleetView:
    """Agents indexed by the task types they can take (healthy ones only), and per task type a
    heap of every capable agent keyed by its *current* score, so the best candidates cost
    O(k log n) whatever the load of the fleet.

    The heaps are lazy: a change of an agent's load or profile bumps the agent's version and
    pushes a fresh entry; entries of an older version are dropped when they reach the top.
    A registry change or a switch of learning mode drops a type's heap; it is rebuilt on use.

    With a ``sampler`` (the thompson policy, ``thompson.py``) the heaps are not used: every
    candidate with room is ranked by the sampler, which reads :attr:`recent`.
    """

    def __init__(self, sampler: Sampler | None = None) -> None:
        self.agents: dict[str, agents_pb2.Agent] = {}
        # type → id → (workspace, max_concurrency, declared proficiency)
        self._by_type: dict[str, dict[str, tuple[str, int, float]]] = {}
        self.profiles: dict[tuple[str, str], Evidence] = {}
        self.recent: dict[tuple[str, str], Recent] = {}  # recent evidence, for the thompson policy
        self.load: dict[str, int] = {}
        self.registry_loaded = False
        self.profile_types: set[str] = set()
        self.on_room: Callable[[], None] = lambda: None  # called when some agent may have room now
        self._version: dict[str, int] = {}  # agent → bumped on every change of its load or profile
        self._heaps: dict[str, tuple[bool, list[Entry]]] = {}  # type → (learning mode, heap); rebuilt lazily
        self._sampler = sampler

    # -- registry ----------------------------------------------------------------------

    def set_agents(self, agents: Iterable[agents_pb2.Agent]) -> None:
        self.agents = {a.id: a for a in agents}
        self._by_type = {}
        self._heaps.clear()
        for a in self.agents.values():
            self._index(a)
        self.registry_loaded = True
        self.on_room()

    def upsert_agent(self, agent: agents_pb2.Agent) -> None:
        self.remove_agent(agent.id)
        self.agents[agent.id] = agent
        self._index(agent)
        self.on_room()

    def remove_agent(self, agent_id: str) -> None:
        old = self.agents.pop(agent_id, None)
        if old is not None:
            self._heaps.clear()
            for c in old.capabilities:
                self._by_type.get(c.task_type, {}).pop(agent_id, None)

    def _index(self, agent: agents_pb2.Agent) -> None:
        self._heaps.clear()
        if agent.status != HEALTHY:
            return
        for c in agent.capabilities:
            self._by_type.setdefault(c.task_type, {})[agent.id] = (
                agent.workspace_id,
                agent.max_concurrency,
                c.proficiency,
            )

    # -- profiles ----------------------------------------------------------------------

    def set_profile(self, p: kg_pb2.LearningProfile) -> None:
        self.profiles[(p.agent_id, p.task_type)] = Evidence(
            success_rate=p.success_rate, expertise=p.expertise, confidence=p.confidence, executions=p.executions
        )
        self.recent[(p.agent_id, p.task_type)] = Recent(
            p.recent_successes, p.recent_failures, p.updated_at.seconds + p.updated_at.nanos / 1e9
        )
        heap = self._heaps.get(p.task_type)
        if heap is not None and heap[0] != scoring.has_data(self.profiles[(p.agent_id, p.task_type)]):
            del self._heaps[p.task_type]  # learning mode may switch: rebuild on use
        self._touch(p.agent_id)

    # -- load --------------------------------------------------------------------------

    def add_load(self, agent_id: str, delta: int) -> None:
        self.load[agent_id] = max(0, self.load.get(agent_id, 0) + delta)
        self._touch(agent_id)
        if delta < 0:
            self.on_room()

    def _touch(self, agent_id: str) -> None:
        """The agent's score changed: outdate its heap entries and push fresh ones."""
        version = self._version[agent_id] = self._version.get(agent_id, 0) + 1
        agent = self.agents.get(agent_id)
        if agent is None or agent.status != HEALTHY or not self._heaps:
            return
        for c in agent.capabilities:
            cached = self._heaps.get(c.task_type)
            if cached is not None:
                heap = cached[1]
                heapq.heappush(heap, self._entry(c.task_type, agent_id, cached[0], version))
                if len(heap) > 4 * len(self._by_type.get(c.task_type, ())) + 64:
                    del self._heaps[c.task_type]  # mostly outdated entries: rebuild on use

    # -- candidates --------------------------------------------------------------------

    def has_capable(self, task_type: str, workspace_id: str, role: str = "") -> bool:
        """Some healthy agent with the capability (and ``role``, when given) may serve the workspace
        (at any load)."""
        return any(
            (not ws or ws == workspace_id) and (not role or self.agents[a].role == role)
            for a, (ws, _, _) in self._by_type.get(task_type, {}).items()
        )

    def capable(self, task_type: str, workspace_id: str, exclude: frozenset[str] = frozenset()) -> list[str]:
        """Healthy agents with the capability that may serve the workspace, at any load."""
        return [
            agent_id
            for agent_id, (ws, _, _) in self._by_type.get(task_type, {}).items()
            if (not ws or ws == workspace_id) and agent_id not in exclude
        ]

    def has_room(self, agent_id: str) -> bool:
        agent = self.agents.get(agent_id)
        limit = agent.max_concurrency if agent is not None else 0
        return limit <= 0 or self.load.get(agent_id, 0) < limit

    def candidates(self, agent_ids: Iterable[str], task_type: str) -> list[Candidate]:
        """The agents among ``agent_ids`` with room (``load < max_concurrency``, 0 = no cap)."""
        capable = self._by_type.get(task_type, {})
        load, profiles = self.load, self.profiles
        out = []
        for a in agent_ids:
            n = load.get(a, 0)
            _, limit, proficiency = capable.get(a, ("", 0, 0.0))
            if limit <= 0 or n < limit:
                out.append(Candidate(a, n, profiles.get((a, task_type)), proficiency))
        return out

    # -- the best candidates (the hot path) ----------------------------------------------

    def _entry(self, task_type: str, agent_id: str, learning: bool, version: int) -> Entry:
        """The agent's heap entry: its score now, as ``scoring.score`` gives it, keyed as ``scoring.rank`` orders."""
        n = self.load.get(agent_id, 0)
        proficiency = self._by_type[task_type][agent_id][2]
        candidate = Candidate(agent_id, n, self.profiles.get((agent_id, task_type)), proficiency)
        s = scoring.score(n, candidate.evidence, learning=learning, proficiency=proficiency)
        return (-s.total, n, -scoring.prior(proficiency), agent_id, version, candidate, s)

    def _heap(self, task_type: str) -> tuple[bool, list[Entry]]:
        cached = self._heaps.get(task_type)
        if cached is None:
            capable = self._by_type.get(task_type, {})
            learning = any(scoring.has_data(self.profiles.get((a, task_type))) for a in capable)
            version = self._version
            heap = [self._entry(task_type, a, learning, version.get(a, 0)) for a in capable]
            heapq.heapify(heap)
            cached = self._heaps[task_type] = (learning, heap)
        return cached

    def best(
        self, task_type: str, workspace_id: str, k: int, exclude: frozenset[str] = frozenset(), role: str = ""
    ) -> list[tuple[Candidate, scoring.Score]]:
        """The ``k`` best candidates with their scores, best first — ``scoring.rank`` order.

        Learning mode holds when any healthy agent capable of the type has data. Entries are
        popped from the type's heap until ``k`` current ones are found (outdated ones are
        dropped, agents at capacity too: a fresh entry comes when their load drops), then the
        current ones are pushed back. ``role`` (a workflow stage's): only agents of that role are
        candidates; without one, the check costs one test of an empty string per entry.
        """
        if self._sampler is not None:
            room = self.candidates(self.capable(task_type, workspace_id, exclude), task_type)
            return self._sampler(room, task_type, self.recent)[:k]
        _, heap = self._heap(task_type)
        capable = self._by_type.get(task_type, {})
        version = self._version
        kept: list[Entry] = []
        current: list[Entry] = []
        seen: set[str] = set()
        while heap and len(kept) < k:
            entry = heapq.heappop(heap)
            _, n, _, agent_id, v, _, _ = entry
            where = capable.get(agent_id)
            if where is None or version.get(agent_id, 0) != v or agent_id in seen:
                continue
            seen.add(agent_id)
            ws, limit, _ = where
            if 0 < limit <= n:
                continue
            current.append(entry)
            if (ws and ws != workspace_id) or agent_id in exclude or (role and self.agents[agent_id].role != role):
                continue
            kept.append(entry)
        for entry in current:
            heapq.heappush(heap, entry)
        return [(candidate, s) for *_, candidate, s in kept]
