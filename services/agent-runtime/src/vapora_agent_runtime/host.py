"""The agents this process hosts: job consumers, registration and heartbeats.

One runtime hosts every manifest in ``config/agents``; replicas of the runtime host the
same agent ids and share each agent's durable job consumer, so a job goes to exactly one
replica and an unacked job (a killed replica) is redelivered to another after the ack wait.

:meth:`AgentHost.apply` moves the hosted set to a new list of manifests (start-up and
SIGHUP): new agents are subscribed and registered, removed ones unsubscribed and
deregistered, changed ones re-registered (and re-subscribed when their concurrency changed).

One :class:`Stops` hears every agent's ``stops.<agent_id>`` broadcasts (:meth:`AgentHost.listen`)
and is shared by all job handlers, so a job of a cancelled task is skipped or cancelled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from vapora.agents.v1 import agents_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora_agent_runtime import metrics
from vapora_agent_runtime.clients import RegistryClient
from vapora_agent_runtime.manifest import AgentManifest
from vapora_agent_runtime.service import JobExecutor
from vapora_agent_runtime.settings import RuntimeSettings
from vapora_agent_runtime.stops import Stops
from vapora_agent_runtime.subscribers import HostedAgent, JobHandler
from vapora_core.aio import Delay, Periodic
from vapora_core.bus import CONSUMERS, Bus, ConsumerSpec, subjects
from vapora_core.errors import NotFound, VaporaError

log = logging.getLogger("vapora.runtime")

REGISTER_RETRY_S = 0.2  # doubled before each retry while agents are pending
REGISTER_RETRY_MAX_S = 5.0


class AgentHost:
    """The hosted agents of runtime ``runtime_id``; ack wait, heartbeat and registry check
    intervals from ``settings``."""

    def __init__(
        self, bus: Bus, registry: RegistryClient, executor: JobExecutor, runtime_id: str, settings: RuntimeSettings
    ) -> None:
        self._bus = bus
        self._registry = registry
        self._executor = executor
        self.runtime_id = runtime_id
        self._ack_wait = settings.job_ack_wait_s
        self._heartbeat_every = settings.heartbeat_interval_s
        self._check_every = settings.registry_check_interval_s
        self.agents: dict[str, HostedAgent] = {}
        self._lock = asyncio.Lock()
        self._last_check = 0.0
        self._retry_in = REGISTER_RETRY_S
        self.stops = Stops()
        self._stops_sub: Any = None

    def job_spec(self, manifest: AgentManifest) -> ConsumerSpec:
        return dataclasses.replace(CONSUMERS.job(manifest.id, manifest.max_concurrency), ack_wait_s=self._ack_wait)

    # -- hosted set ----------------------------------------------------------------------

    async def apply(self, manifests: Sequence[AgentManifest]) -> None:
        async with self._lock:
            wanted = {m.id: m for m in manifests}
            for agent_id in [i for i in self.agents if i not in wanted]:
                await self._remove(agent_id)
            for manifest in manifests:
                hosted = self.agents.get(manifest.id)
                if hosted is None:
                    await self._add(manifest)
                elif hosted.manifest != manifest:
                    resubscribe = hosted.manifest.max_concurrency != manifest.max_concurrency
                    hosted.manifest = manifest
                    hosted.registered = False
                    if resubscribe:
                        await self._unsubscribe(hosted)
                        await self._subscribe(hosted)
                    log.info("agent %s updated from %s", manifest.id, manifest.source)
            metrics.AGENTS.set(len(self.agents))

    async def _add(self, manifest: AgentManifest) -> None:
        hosted = HostedAgent(manifest)
        self.agents[manifest.id] = hosted
        await self._subscribe(hosted)
        log.info("hosting agent %s (%s) from %s", manifest.id, manifest.role, manifest.source)

    async def _remove(self, agent_id: str) -> None:
        hosted = self.agents.pop(agent_id)
        await self._unsubscribe(hosted)
        try:
            await self._registry.deregister(agent_id)
        except NotFound:
            pass
        except VaporaError as exc:
            log.warning("could not deregister removed agent %s: %s", agent_id, exc)
        log.info("stopped hosting agent %s", agent_id)

    async def _subscribe(self, hosted: HostedAgent) -> None:
        spec = self.job_spec(hosted.manifest)
        handler = JobHandler(hosted, self._executor, self._bus, self.stops, max_deliver=spec.max_deliver)
        hosted.subscription = await self._bus.subscribe(
            spec, coordinator_pb2.JobAssigned, handler, workers=hosted.manifest.max_concurrency
        )

    async def _unsubscribe(self, hosted: HostedAgent) -> None:
        if hosted.subscription is not None:
            await self._bus.unsubscribe(hosted.subscription)
            hosted.subscription = None

    # -- stops ---------------------------------------------------------------------------

    async def listen(self) -> None:
        """Hear every agent's stops; needs a started bus (core NATS subscription, which ends with the bus)."""
        if self._stops_sub is None:
            self._stops_sub = await self._bus.listen(subjects.STOPS, coordinator_pb2.JobStopped, self.stops.on_stop)

    # -- registration and heartbeats -----------------------------------------------------

    def _beat(self, hosted: HostedAgent) -> agents_pb2.AgentHeartbeat:
        beat = agents_pb2.AgentHeartbeat(
            agent_id=hosted.manifest.id, runtime_id=self.runtime_id, current_load=hosted.in_flight
        )
        beat.at.FromNanoseconds(time.time_ns())
        return beat

    async def register_pending(self) -> int:
        """Register every agent not yet registered; the number still pending."""
        pending = 0
        for hosted in list(self.agents.values()):
            if hosted.registered:
                continue
            agent = hosted.manifest.to_agent(self.runtime_id)
            agent.current_load = hosted.in_flight
            try:
                await self._registry.register(agent)
            except VaporaError as exc:
                pending += 1
                log.warning("registering agent %s failed, will retry: %s", hosted.manifest.id, exc)
                continue
            hosted.registered = True
            log.info("registered agent %s with %s", hosted.manifest.id, self._registry.target)
        return pending

    async def check_registration(self) -> None:
        """Ask the registry whether each agent is still known; re-register the forgotten ones."""
        for hosted in list(self.agents.values()):
            if not hosted.registered:
                continue
            try:
                await self._registry.heartbeat(self._beat(hosted))
            except NotFound:
                log.warning("registry forgot agent %s; registering again", hosted.manifest.id)
                hosted.registered = False
            except VaporaError as exc:
                log.warning("registry check of %s failed: %s", hosted.manifest.id, exc)

    async def publish_heartbeats(self) -> None:
        beats = [self._beat(h) for h in self.agents.values()]
        results = await asyncio.gather(
            *(self._bus.publish(subjects.heartbeat(b.agent_id), b) for b in beats), return_exceptions=True
        )
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.warning("%d heartbeats failed: %s", len(failed), failed[0])

    def background(self, on_registered: Callable[[], None] = lambda: None) -> tuple[Periodic, Periodic]:
        """Registration (``on_registered`` whenever every hosted agent is registered; while some
        are pending, tried again after a back-off doubling from 0.4 s to 5 s) and heartbeats, for
        the caller to start and stop."""
        self._last_check = time.monotonic()
        self._retry_in = REGISTER_RETRY_S
        return (
            Periodic("registration", min(0.5, self._check_every), lambda: self._register_round(on_registered)),
            Periodic("heartbeats", self._heartbeat_every, self.publish_heartbeats),
        )

    async def _register_round(self, on_registered: Callable[[], None]) -> Delay | None:
        async with self._lock:
            pending = await self.register_pending()
            if not pending:
                on_registered()
            if time.monotonic() - self._last_check >= self._check_every:
                self._last_check = time.monotonic()
                await self.check_registration()
        if not pending:
            self._retry_in = REGISTER_RETRY_S
            return None
        self._retry_in = min(self._retry_in * 2, REGISTER_RETRY_MAX_S)
        return Delay(min(self._retry_in, self._check_every))
