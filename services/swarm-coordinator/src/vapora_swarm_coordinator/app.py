"""The swarm-coordinator process: one active, any number of standbys, decided by the coordinator
lease (:mod:`.lease`, a key in JetStream KV).

Every process connects to NATS, serves gRPC (health NOT_SERVING, calls UNAVAILABLE while standby)
and the ops routes (``/readyz`` 503, ``waiting_for: the coordinator lease``), and looks at the lease.
The one that holds it becomes active: it opens the store (an embedded store is locked to one
process: while the process that held the lease before still has it open, a SIGSTOPped one say, it
waits for the lock, ``waiting_for: the embedded store's lock``), restores the load per agent from
the assignments held, reads the registry, recovers the workflow runs, then consumes (executions,
cancels, the feeds, the task intake) and runs the sweeps. A lone coordinator holds the lease at
once, so :meth:`CoordinatorApp.start` returns active.

When the lease is lost (not renewed in time, or taken over), the process stands down at once:
health NOT_SERVING, not ready, the task intake and every consumer stopped (what they hold goes back
to JetStream), the sweeps stopped, the store closed; then it is a standby again. Every store write
checks the lease first (:meth:`.lease.Lease.check`), so a handler still running writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_core import kv
from vapora_core.aio import Periodic
from vapora_core.bus import Bus
from vapora_core.bus.topology import BUCKETS
from vapora_core.errors import StoreLocked
from vapora_core.grpc import GrpcServer
from vapora_core.parts import Parts, ServiceApp
from vapora_core.store import Store
from vapora_swarm_coordinator import metrics, subscribers
from vapora_swarm_coordinator.clients import KgClient, RegistryClient
from vapora_swarm_coordinator.grpc_server import SERVICE_NAME, CoordinatorServicer
from vapora_swarm_coordinator.lease import Lease, LeaseLost, holder_id
from vapora_swarm_coordinator.repository import NAMESPACE, SCHEMA, AssignmentRepository
from vapora_swarm_coordinator.service import Clock, Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.stats import JetStreamStats

log = logging.getLogger("vapora.coordinator")

LEASE = "the coordinator lease"
STORE_LOCK = "the embedded store's lock"
STORE_LOCK_RETRY_S = 0.1


class CoordinatorApp(ServiceApp):
    def __init__(self, settings: CoordinatorSettings, *, clock: Clock = time.time) -> None:
        super().__init__(settings)
        self.settings = settings
        self.clock = clock
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.lease: Lease | None = None
        self.coordinator: Coordinator | None = None  # None while standby
        self._registry: RegistryClient | None = None
        self._kg: KgClient | None = None
        self._active: Parts | None = None
        self._campaign: asyncio.Future[None] | None = None
        self._keeper: asyncio.Future[str] | None = None  # renews the lease while it is held

    async def start(self) -> None:
        """Start what every process runs, then become active if the lease is free, else a standby.
        :meth:`stop` stops in reverse: the campaign, gRPC, the active parts (the sweeps, the task
        intake, the consumers, the store), the clients, the lease (released), the bus."""
        s, parts = self.settings, self.parts
        self.readiness.wait_for(LEASE)
        self.bus = bus = Bus.from_settings(s)
        await parts.bus(bus)  # streams declared; the consumers come with the lease
        bucket = await kv.Bucket.open(bus.js, BUCKETS.COORDINATOR_LEASE, replicas=s.jetstream_replicas)
        self.lease = lease = Lease(bucket, holder_id(), s.lease_ttl_s)
        parts.callback("the coordinator lease", lease.release)
        self._registry = RegistryClient(s.registry_addr, timeout=s.grpc_timeout_s) if s.registry_addr else None
        self._kg = KgClient(s.kg_addr, timeout=s.grpc_timeout_s) if s.kg_addr else None
        for client in (self._registry, self._kg):
            if client is not None:
                parts.callback(f"the client of {client.target}", client.close)
        parts.callback("the active coordinator", self._stand_down)
        servicer = CoordinatorServicer(lambda: self.coordinator)
        self.grpc = await parts.grpc(
            GrpcServer(
                s.service_name,
                s.grpc_host,
                s.grpc_port,
                [(coordinator_pb2_grpc.add_CoordinatorServicer_to_server, servicer, SERVICE_NAME)],
            ),
            serving=False,
        )
        parts.callback("the lease campaign", self._stop_campaign)
        if await lease.try_acquire():
            self._keeper = keeper = asyncio.ensure_future(lease.keep())
            await self._activate_while(keeper)  # lost meanwhile: a standby (the loop below stands it down)
        else:
            log.info("standby: another swarm-coordinator holds the lease; looking every %.2g s", lease.poll_s)
        self._campaign = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        """Hold the lease while it lasts, stand down when it is lost, look for it again: until stopped."""
        assert self.lease is not None
        lease = self.lease
        while True:
            if self._keeper is None:
                await lease.acquire()
                self._keeper = keeper = asyncio.ensure_future(lease.keep())
                try:
                    await self._activate_while(keeper)
                except Exception:
                    log.exception("becoming the active coordinator failed; standing down")
                    keeper.cancel()
                    self._keeper = None
                    await self._stand_down()
                    await lease.release()
                    await asyncio.sleep(lease.ttl_s)  # another standby's turn
                    continue
            await asyncio.wait({self._keeper})
            self._keeper = None
            await self._stand_down()

    async def _activate_while(self, keeper: asyncio.Future[str]) -> None:
        """:meth:`_activate`, abandoned (and what it started stopped) if the lease is lost meanwhile."""
        activation = asyncio.ensure_future(self._activate())
        either: set[asyncio.Future[Any]] = {keeper, activation}
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not activation.done():  # the lease lost, or this task cancelled (the process stops)
                activation.cancel()
                with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                    await activation
        try:
            activation.result()
        except (asyncio.CancelledError, LeaseLost) as exc:  # LeaseLost: a write the fence refused
            log.warning("lost the lease while becoming active (%s)", keeper.result() if keeper.done() else exc)
            await self._stand_down()

    async def _stop_campaign(self) -> None:
        for task in (self._campaign, self._keeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _open_store(self, active: Parts) -> Store:
        """The store, once its lock is free (embedded), while the lease lasts."""
        assert self.lease is not None
        while True:
            self.lease.check()
            try:
                return await active.store(Store.from_settings(self.settings, NAMESPACE), SCHEMA)
            except StoreLocked as exc:
                if STORE_LOCK not in self.readiness.waiting_for:
                    log.warning("holding the lease; waiting for the store: %s", exc)
                self.readiness.wait_for(STORE_LOCK)
                await asyncio.sleep(STORE_LOCK_RETRY_S)

    async def _activate(self) -> None:
        """Become the active coordinator (see the module docstring); the lease is held."""
        s, bus, lease = self.settings, self.bus, self.lease
        assert bus is not None and lease is not None
        self._active = active = Parts(s.service_name, s.shutdown_grace_s)
        metrics.LEASE_HELD.set(1)
        try:
            self.store = await self._open_store(active)
        finally:
            self.readiness.have(STORE_LOCK)
        coordinator = Coordinator(
            s,
            AssignmentRepository(self.store, fence=lease.check),
            bus,
            registry=self._registry,
            kg=self._kg,
            clock=self.clock,
        )
        await coordinator.restore()
        for consumer in await subscribers.subscribe(bus, coordinator, s):
            active.callback("a consumer", bus.unsubscribe, consumer)
        await coordinator.refresh_registry(force=True)
        await coordinator.start_workflows()
        lease.check()
        intake = await subscribers.subscribe_tasks(bus, coordinator, s)
        active.callback("the task intake", bus.unsubscribe, intake)
        active.periodic(Periodic("timeout-sweep", s.sweep_interval_s, self._sweep, wait_first=True))
        active.periodic(Periodic("retention-sweep", s.retention_interval_s, coordinator.sweep_retention))
        if s.jetstream_stats_s > 0:
            active.periodic(JetStreamStats(bus.js, s.jetstream_stats_s))
        self.coordinator = coordinator
        if self.grpc is not None:
            await self.grpc.set_serving(True)
        metrics.ACTIVATIONS.inc()
        self.readiness.have(LEASE)
        log.info("active: consuming tasks")

    async def _stand_down(self) -> None:
        """Stop being the active coordinator, at once: not ready, NOT_SERVING, consumers and sweeps
        stopped (the task intake first), the store closed."""
        self.readiness.wait_for(LEASE)
        metrics.LEASE_HELD.set(0)
        self.coordinator = None
        if self.grpc is not None:
            await self.grpc.set_serving(False)
        active, self._active = self._active, None
        if active is not None:
            await active.stop()
            log.info("standby: the consumers are stopped and the store is closed")

    async def _sweep(self) -> None:
        coordinator = self.coordinator
        if coordinator is None:
            return
        if not coordinator.view.registry_loaded:
            await coordinator.refresh_registry()
        await coordinator.sweep_timeouts()
        await coordinator.recovery.sweep()

    async def reload(self) -> None:
        """SIGHUP: re-read config/workflows.toml (an invalid file keeps the previous templates)."""
        if self.coordinator is not None:
            self.coordinator.workflows.templates.reload()
