"""The registry's domain: who is registered, who is alive, who takes which task type.

Plain in-memory state, no I/O: the app persists what :meth:`Registry.take_dirty` hands it
and publishes the :class:`Change` values the methods return.

Liveness: every runtime hosting an agent (replicas share an agent id) sends heartbeats
carrying its current load. An agent is healthy while at least one replica was seen within
``heartbeat_timeout_s``; its ``current_load`` is the sum over those replicas. With no
heartbeat for ``heartbeat_timeout_s`` it is marked unhealthy; after ``remove_after_s`` it is
removed. Indexes by capability and role (with cached sorted id lists) keep ``list`` fast
with tens of thousands of agents.
"""

from __future__ import annotations

import base64
import binascii
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vapora.agents.v1 import agents_pb2
from vapora_core.bus import subjects
from vapora_core.errors import InvalidArgument, NotFound

HEALTHY = agents_pb2.AGENT_STATUS_HEALTHY
UNHEALTHY = agents_pb2.AGENT_STATUS_UNHEALTHY
Kind = agents_pb2.AgentsChanged.Kind

DEFAULT_PAGE_SIZE = 500
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class Change:
    """One membership change, published on ``agents.changed``."""

    kind: agents_pb2.AgentsChanged.Kind
    agent: agents_pb2.Agent


def encode_token(agent_id: str) -> str:
    return base64.urlsafe_b64encode(agent_id.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidArgument(f"page_token {token!r} is not a token this registry issued") from exc


def validate(agent: agents_pb2.Agent) -> None:
    """Refuse an agent the fleet could not address or assign; name the field."""
    if not agent.id:
        raise InvalidArgument("agent.id is required")
    if subjects.token(agent.id) != agent.id:
        raise InvalidArgument(f"agent.id {agent.id!r} may hold only letters, digits, '-' and '_'")
    if not agent.role:
        raise InvalidArgument(f"agent.role is required (agent {agent.id})")
    if not agent.capabilities:
        raise InvalidArgument(f"agent.capabilities must list at least one task type (agent {agent.id})")
    for i, cap in enumerate(agent.capabilities):
        if not cap.task_type:
            raise InvalidArgument(f"agent.capabilities[{i}].task_type is required (agent {agent.id})")
        if not 0.0 <= cap.proficiency <= 1.0:
            raise InvalidArgument(
                f"agent.capabilities[{i}].proficiency must be in [0, 1], got {cap.proficiency} (agent {agent.id})"
            )
    if agent.max_concurrency < 1:
        raise InvalidArgument(f"agent.max_concurrency must be at least 1 (agent {agent.id})")


class Registry:
    """Agents, their replicas' heartbeats, and indexes for listing."""

    def __init__(
        self,
        *,
        heartbeat_timeout_s: float,
        remove_after_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if remove_after_s < heartbeat_timeout_s:
            raise InvalidArgument("remove_after_s must be at least heartbeat_timeout_s")
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.remove_after_s = remove_after_s
        self._clock = clock
        self._agents: dict[str, agents_pb2.Agent] = {}
        self._last_seen: dict[str, float] = {}
        self._replicas: dict[str, dict[str, tuple[int, float]]] = {}
        self._index: dict[tuple[str, str], set[str]] = {}
        self._sorted: dict[tuple[str, str], list[str]] = {}
        self._dirty: set[str] = set()
        self._removed: set[str] = set()

    # -- reads ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._agents)

    def get(self, agent_id: str) -> agents_pb2.Agent:
        agent = self._agents.get(agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id!r} is not registered")
        return agent

    def counts(self) -> dict[int, int]:
        out: dict[int, int] = {HEALTHY: 0, UNHEALTHY: 0}
        for agent in self._agents.values():
            out[agent.status] = out.get(agent.status, 0) + 1
        return out

    def list_agents(
        self,
        *,
        role: str = "",
        capability: str = "",
        status: int = agents_pb2.AGENT_STATUS_UNSPECIFIED,
        page_size: int = 0,
        page_token: str = "",
        workspace_id: str = "",
    ) -> tuple[list[agents_pb2.Agent], str]:
        """One page of agents matching every given filter, ordered by id. With ``workspace_id``,
        only the agents that workspace may use: shared ones and those private to it."""
        if page_size < 0:
            raise InvalidArgument(f"page_size must not be negative, got {page_size}")
        size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        keys = [k for k in (("cap", capability), ("role", role)) if k[1]]
        if keys:
            keys.sort(key=lambda k: len(self._index.get(k, ())))
            ids = self._sorted_ids(keys[0])
            other = [self._index.get(k, set()) for k in keys[1:]]
        else:
            ids = self._sorted_ids(("all", ""))
            other = []
        start = bisect_right(ids, decode_token(page_token)) if page_token else 0
        page: list[agents_pb2.Agent] = []
        for i in range(start, len(ids)):
            agent_id = ids[i]
            if other and not all(agent_id in s for s in other):
                continue
            agent = self._agents[agent_id]
            if status and agent.status != status:
                continue
            if workspace_id and agent.workspace_id not in ("", workspace_id):
                continue
            if len(page) == size:
                return page, encode_token(page[-1].id)
            page.append(agent)
        return page, ""

    def _sorted_ids(self, key: tuple[str, str]) -> list[str]:
        cached = self._sorted.get(key)
        if cached is None:
            members = self._agents.keys() if key[0] == "all" else self._index.get(key, set())
            cached = self._sorted[key] = sorted(members)
        return cached

    # -- index -------------------------------------------------------------------------

    @staticmethod
    def _keys(agent: agents_pb2.Agent) -> set[tuple[str, str]]:
        keys = {("all", ""), ("role", agent.role)}
        keys.update(("cap", c.task_type) for c in agent.capabilities)
        return keys

    def _unindex(self, agent: agents_pb2.Agent) -> None:
        for key in self._keys(agent):
            members = self._index.get(key)
            if members is not None:
                members.discard(agent.id)
                if not members:
                    del self._index[key]
            self._sorted.pop(key, None)

    def _reindex(self, agent: agents_pb2.Agent) -> None:
        for key in self._keys(agent):
            self._index.setdefault(key, set()).add(agent.id)
            self._sorted.pop(key, None)

    # -- writes ------------------------------------------------------------------------

    def restore(self, agents: Iterable[tuple[agents_pb2.Agent, float]]) -> None:
        """Load persisted agents at start-up.

        Every agent gets a fresh grace period from now: a registry that was down heard no
        heartbeats, which says nothing about the agents. Dead ones time out as usual.
        """
        now = self._clock()
        for agent, _last in agents:
            self._agents[agent.id] = agent
            self._last_seen[agent.id] = now
            healthy = agent.status == HEALTHY and agent.runtime_id
            self._replicas[agent.id] = {agent.runtime_id: (agent.current_load, now)} if healthy else {}
            self._reindex(agent)

    def register(self, agent: agents_pb2.Agent) -> Change:
        """Add or update an agent; it is healthy from now on."""
        validate(agent)
        now = self._clock()
        new = agents_pb2.Agent()
        new.CopyFrom(agent)
        new.status = HEALTHY
        new.last_heartbeat.FromNanoseconds(int(now * 1e9))
        old = self._agents.get(agent.id)
        replicas = self._replicas.setdefault(agent.id, {})
        if agent.runtime_id:
            load = replicas.get(agent.runtime_id, (agent.current_load, now))[0]
            replicas[agent.runtime_id] = (max(0, load), now)
        new.current_load = self._live_load(agent.id, now)
        if old is not None:
            new.registered_at.CopyFrom(old.registered_at)
            self._unindex(old)
        else:
            new.registered_at.FromNanoseconds(int(now * 1e9))
        self._agents[new.id] = new
        self._last_seen[new.id] = now
        self._reindex(new)
        self._touch(new.id)
        return Change(Kind.KIND_UPDATED if old is not None else Kind.KIND_REGISTERED, new)

    def deregister(self, agent_id: str) -> Change:
        agent = self.get(agent_id)
        self._drop(agent)
        return Change(Kind.KIND_REMOVED, agent)

    def heartbeat(self, beat: agents_pb2.AgentHeartbeat) -> Change | None:
        """Record a heartbeat; a change when the agent came back or its load moved."""
        if not beat.agent_id:
            raise InvalidArgument("heartbeat.agent_id is required")
        if beat.current_load < 0:
            raise InvalidArgument(f"heartbeat.current_load must not be negative, got {beat.current_load}")
        agent = self.get(beat.agent_id)
        now = self._clock()
        self._replicas.setdefault(agent.id, {})[beat.runtime_id] = (beat.current_load, now)
        self._last_seen[agent.id] = now
        load = self._live_load(agent.id, now)
        came_back = agent.status != HEALTHY
        moved = load != agent.current_load
        agent.status = HEALTHY
        agent.current_load = load
        if beat.runtime_id:
            agent.runtime_id = beat.runtime_id
        agent.last_heartbeat.FromNanoseconds(int(now * 1e9))
        self._touch(agent.id)
        if came_back or moved:
            return Change(Kind.KIND_UPDATED, agent)
        return None

    def sweep(self) -> list[Change]:
        """Mark agents with no recent heartbeat unhealthy, then remove them."""
        now = self._clock()
        changes: list[Change] = []
        for agent_id in list(self._agents):
            agent = self._agents[agent_id]
            silent = now - self._last_seen.get(agent_id, now)
            if silent > self.remove_after_s:
                self._drop(agent)
                changes.append(Change(Kind.KIND_REMOVED, agent))
                continue
            load = self._live_load(agent_id, now)
            if silent > self.heartbeat_timeout_s:
                if agent.status != UNHEALTHY:
                    agent.status = UNHEALTHY
                    agent.current_load = 0
                    self._touch(agent_id)
                    changes.append(Change(Kind.KIND_UNHEALTHY, agent))
            elif load != agent.current_load:
                agent.current_load = load  # a replica went quiet; its load no longer counts
                self._touch(agent_id)
                changes.append(Change(Kind.KIND_UPDATED, agent))
        return changes

    def _live_load(self, agent_id: str, now: float) -> int:
        replicas = self._replicas.get(agent_id, {})
        for runtime_id, (_, seen) in list(replicas.items()):
            if now - seen > self.heartbeat_timeout_s:
                del replicas[runtime_id]
        return sum(load for load, _ in replicas.values())

    def _drop(self, agent: agents_pb2.Agent) -> None:
        self._unindex(agent)
        del self._agents[agent.id]
        self._last_seen.pop(agent.id, None)
        self._replicas.pop(agent.id, None)
        self._dirty.discard(agent.id)
        self._removed.add(agent.id)

    def _touch(self, agent_id: str) -> None:
        self._dirty.add(agent_id)
        self._removed.discard(agent_id)

    # -- persistence hand-off ------------------------------------------------------------

    def take_dirty(self) -> tuple[list[tuple[agents_pb2.Agent, float]], list[str]]:
        """Agents to write and ids to delete since the last call."""
        upserts = [(self._agents[i], self._last_seen.get(i, 0.0)) for i in self._dirty if i in self._agents]
        removed = list(self._removed)
        self._dirty.clear()
        self._removed.clear()
        return upserts, removed

    def mark_dirty(self, upserts: Iterable[str], removed: Iterable[str]) -> None:
        """Hand back what could not be written, so the next flush tries again."""
        for agent_id in upserts:
            if agent_id in self._agents:
                self._dirty.add(agent_id)
        for agent_id in removed:
            if agent_id not in self._agents:
                self._removed.add(agent_id)
