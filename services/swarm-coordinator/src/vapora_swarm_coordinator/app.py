"""The swarm-coordinator process: store, bus consumers, priority intake, gRPC, sweeps, JetStream stats."""

from __future__ import annotations

import contextlib
import time

from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_core.aio import Periodic
from vapora_core.bus import Bus, Consumer
from vapora_core.grpc import GrpcServer
from vapora_core.metrics import Readiness
from vapora_core.store import Store
from vapora_swarm_coordinator import subscribers
from vapora_swarm_coordinator.clients import KgClient, RegistryClient
from vapora_swarm_coordinator.grpc_server import SERVICE_NAME, CoordinatorServicer
from vapora_swarm_coordinator.repository import NAMESPACE, SCHEMA, AssignmentRepository
from vapora_swarm_coordinator.service import Clock, Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.stats import JetStreamStats


class CoordinatorApp:
    def __init__(self, settings: CoordinatorSettings, *, clock: Clock = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.readiness = Readiness(settings.service_name)
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.grpc: GrpcServer | None = None
        self.coordinator: Coordinator | None = None
        self.intake: Consumer | None = None
        self._clients: list[RegistryClient | KgClient] = []
        self._sweepers: list[Periodic] = []

    @property
    def grpc_port(self) -> int:
        return self.grpc.port if self.grpc else 0

    async def start(self) -> None:
        s = self.settings
        self.store = Store.from_settings(s, NAMESPACE)
        await self.store.open(SCHEMA)
        self.bus = Bus.from_settings(s)
        registry = RegistryClient(s.registry_addr, timeout=s.grpc_timeout_s) if s.registry_addr else None
        kg = KgClient(s.kg_addr, timeout=s.grpc_timeout_s) if s.kg_addr else None
        self._clients = [c for c in (registry, kg) if c is not None]
        self.coordinator = Coordinator(
            s, AssignmentRepository(self.store), self.bus, registry=registry, kg=kg, clock=self.clock
        )
        await self.coordinator.restore()
        await subscribers.subscribe(self.bus, self.coordinator, s)
        await self.bus.start()
        await self.coordinator.refresh_registry(force=True)
        self.intake = await subscribers.subscribe_tasks(self.bus, self.coordinator, s)
        self.grpc = GrpcServer(
            s.service_name,
            s.grpc_host,
            s.grpc_port,
            [
                (
                    coordinator_pb2_grpc.add_CoordinatorServicer_to_server,
                    CoordinatorServicer(self.coordinator),
                    SERVICE_NAME,
                )
            ],
        )
        await self.grpc.start()
        self._sweepers = [
            Periodic("timeout-sweep", s.sweep_interval_s, self._sweep, wait_first=True),
            Periodic("retention-sweep", s.retention_interval_s, self.coordinator.sweep_retention),
        ]
        if s.jetstream_stats_s > 0:
            self._sweepers.append(JetStreamStats(self.bus.js, s.jetstream_stats_s))
        for sweeper in self._sweepers:
            sweeper.start()

    async def _sweep(self) -> None:
        assert self.coordinator is not None
        if not self.coordinator.view.registry_loaded:
            await self.coordinator.refresh_registry()
        await self.coordinator.sweep_timeouts()

    async def stop(self) -> None:
        for sweeper in self._sweepers:
            await sweeper.stop()
        if self.bus is not None:
            if self.intake is not None:  # tasks first: nothing new is assigned while executions settle
                await self.bus.unsubscribe(self.intake)
            await self.bus.stop()
        if self.grpc is not None:
            await self.grpc.stop(self.settings.shutdown_grace_s)
        for c in self._clients:
            with contextlib.suppress(Exception):
                await c.close()
        if self.store is not None:
            await self.store.close()
