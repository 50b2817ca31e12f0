"""The registry's use cases: change the in-memory state, persist it, announce it.

Register and deregister are written through before they answer; heartbeats only touch
memory and are flushed in batches every ``flush_interval_s`` (a registry with 10,000
agents beating every 2 s must not do 5,000 writes a second). Every change is published
on ``agents.changed``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from vapora.agents.v1 import agents_pb2
from vapora_agent_registry import metrics
from vapora_agent_registry.repository import AgentRepository
from vapora_agent_registry.service import HEALTHY, UNHEALTHY, Change, Registry
from vapora_core.aio import Periodic
from vapora_core.bus import Bus, subjects
from vapora_core.errors import NotFound, PayloadTooLarge

log = logging.getLogger("vapora.registry")
Kind = agents_pb2.AgentsChanged.Kind
# What the registry adds to a manifest before it publishes it (status, load, timestamps) and the
# headers NATS counts with the payload (schema, trace context, stream): well under this.
EVENT_HEADROOM = 2048


class AgentDirectory:
    def __init__(self, registry: Registry, repository: AgentRepository, bus: Bus) -> None:
        self.registry = registry
        self._repo = repository
        self._bus = bus
        self._write_lock = asyncio.Lock()

    async def restore(self) -> None:
        agents, broken = await self._repo.load_all()
        self.registry.restore(agents)
        if broken:
            log.warning("skipped %d stored agents that no longer parse: %s", len(broken), broken[:10])
        log.info("restored %d agents", len(agents))
        self._gauge()

    async def register(self, agent: agents_pb2.Agent) -> agents_pb2.Agent:
        """Add or update ``agent``. A manifest whose ``agents.changed`` event could not be published
        (bigger than the NATS server's max_payload) is refused before anything changes."""
        self._check_fits(agent)
        change = self.registry.register(agent)
        await self.flush()
        await self._announce([change])
        return change.agent

    def _check_fits(self, agent: agents_pb2.Agent) -> None:
        size = agents_pb2.AgentsChanged(kind=Kind.KIND_UPDATED, agent=agent).ByteSize() + EVENT_HEADROOM
        if size > self._bus.max_payload:
            raise PayloadTooLarge(f"agent {agent.id!r} (as its agents.changed event)", size, self._bus.max_payload)

    async def deregister(self, agent_id: str) -> None:
        change = self.registry.deregister(agent_id)
        await self.flush()
        await self._announce([change])

    async def heartbeat(self, beat: agents_pb2.AgentHeartbeat) -> agents_pb2.AgentStatus:
        try:
            change = self.registry.heartbeat(beat)
        except NotFound:
            metrics.HEARTBEATS.labels("unknown_agent").inc()
            raise
        metrics.HEARTBEATS.labels("ok").inc()
        if change is not None:
            await self._announce([change])
        return HEALTHY

    async def sweep(self) -> list[Change]:
        changes = self.registry.sweep()
        if changes:
            await self.flush()
            await self._announce(changes)
        return changes

    async def flush(self) -> None:
        """Write what changed since the last flush; on failure keep it for the next one."""
        async with self._write_lock:
            upserts, removed = self.registry.take_dirty()
            try:
                await self._repo.save(upserts, removed)
            except Exception:
                self.registry.mark_dirty((a.id for a, _ in upserts), removed)
                raise

    async def _announce(self, changes: Sequence[Change]) -> None:
        now = time.time_ns()
        for change in changes:
            event = agents_pb2.AgentsChanged(kind=change.kind, agent=change.agent)
            event.at.FromNanoseconds(now)
            await self._bus.publish(subjects.AGENTS_CHANGED, event)
            metrics.CHANGES.labels(agents_pb2.AgentsChanged.Kind.Name(change.kind)).inc()

    def _gauge(self) -> None:
        counts = self.registry.counts()
        metrics.AGENTS.labels("healthy").set(counts.get(HEALTHY, 0))
        metrics.AGENTS.labels("unhealthy").set(counts.get(UNHEALTHY, 0))

    def maintenance(self, sweep_interval_s: float, flush_interval_s: float) -> tuple[Periodic, Periodic]:
        """The liveness sweep (and the agent gauges, O(agents): once a sweep, not per change) and
        the heartbeat flush, each first after one interval (start-up has just restored the agents);
        a failing run is logged and retried at the next."""
        return (
            Periodic("liveness-sweep", sweep_interval_s, self._sweep_and_count, wait_first=True),
            Periodic("heartbeat-flush", flush_interval_s, self.flush, wait_first=True),
        )

    async def _sweep_and_count(self) -> None:
        await self.sweep()
        self._gauge()
