"""What the in-memory view asks other services for, when its feeds have not told it yet.

The view (``state.py``) is fed by ``agents.changed`` and ``kg.profiles.changed``. On a cold
start, and when a task finds no capable agent, the agents come from the registry's ListAgents
(at most once every ``registry_refresh_s`` unless forced); the first task of a type brings the
learning profiles of that type's capable agents from the knowledge graph's GetLearningProfiles,
once. A service that does not answer is logged and the view keeps what it has.
"""

from __future__ import annotations

import logging
import time

from vapora_core.errors import VaporaError
from vapora_swarm_coordinator.clients import KgClient, RegistryClient
from vapora_swarm_coordinator.state import FleetView

log = logging.getLogger("vapora.coordinator")


class Lookups:
    def __init__(
        self, view: FleetView, *, registry: RegistryClient | None, kg: KgClient | None, registry_refresh_s: float
    ) -> None:
        self.view = view
        self.registry = registry
        self.kg = kg
        self.registry_refresh_s = registry_refresh_s
        self._last_refresh = 0.0

    async def refresh_registry(self, *, force: bool = False) -> None:
        if self.registry is None:
            return
        now = time.monotonic()
        if not force and now - self._last_refresh < self.registry_refresh_s:
            return
        self._last_refresh = now
        try:
            self.view.set_agents(await self.registry.list_agents())
        except VaporaError as exc:
            log.warning("cannot list agents from %s: %s", self.registry.target, exc)

    async def ensure_profiles(self, task_type: str, workspace_id: str) -> None:
        """Cold start: the profiles of a task type's capable agents from the knowledge graph, once."""
        if self.kg is None or task_type in self.view.profile_types:
            return
        agent_ids = self.view.capable(task_type, workspace_id)
        if not agent_ids:
            return
        try:
            for p in await self.kg.profiles(agent_ids, task_type):
                self.view.set_profile(p)
            self.view.profile_types.add(task_type)
        except VaporaError as exc:
            log.warning("no learning profiles for %s from %s: %s", task_type, self.kg.target, exc)
