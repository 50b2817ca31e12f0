"""The swarm-coordinator process: store, bus consumers, priority intake, gRPC, sweeps, JetStream stats."""

from __future__ import annotations

import time

from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_core.aio import Periodic
from vapora_core.bus import Bus, Consumer
from vapora_core.grpc import GrpcServer
from vapora_core.parts import ServiceApp
from vapora_core.store import Store
from vapora_swarm_coordinator import subscribers
from vapora_swarm_coordinator.clients import KgClient, RegistryClient
from vapora_swarm_coordinator.grpc_server import SERVICE_NAME, CoordinatorServicer
from vapora_swarm_coordinator.repository import NAMESPACE, SCHEMA, AssignmentRepository
from vapora_swarm_coordinator.service import Clock, Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.stats import JetStreamStats


class CoordinatorApp(ServiceApp):
    def __init__(self, settings: CoordinatorSettings, *, clock: Clock = time.time) -> None:
        super().__init__(settings)
        self.settings = settings
        self.clock = clock
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.coordinator: Coordinator | None = None
        self.intake: Consumer | None = None

    async def start(self) -> None:
        """Start the parts; :meth:`stop` stops them in reverse: the sweeps, gRPC, the task intake
        (nothing new is assigned while executions settle), the bus, the clients, the store."""
        s, parts = self.settings, self.parts
        self.store = await parts.store(Store.from_settings(s, NAMESPACE), SCHEMA)
        self.bus = bus = Bus.from_settings(s)
        registry = RegistryClient(s.registry_addr, timeout=s.grpc_timeout_s) if s.registry_addr else None
        kg = KgClient(s.kg_addr, timeout=s.grpc_timeout_s) if s.kg_addr else None
        for client in (registry, kg):
            if client is not None:
                parts.callback(f"the client of {client.target}", client.close)
        self.coordinator = Coordinator(
            s, AssignmentRepository(self.store), bus, registry=registry, kg=kg, clock=self.clock
        )
        await self.coordinator.restore()
        await subscribers.subscribe(bus, self.coordinator, s)
        await parts.bus(bus)
        await self.coordinator.refresh_registry(force=True)
        await self.coordinator.start_workflows()
        self.intake = intake = await subscribers.subscribe_tasks(bus, self.coordinator, s)
        parts.callback("the task intake", bus.unsubscribe, intake)
        self.grpc = await parts.grpc(
            GrpcServer(
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
        )
        parts.periodic(Periodic("timeout-sweep", s.sweep_interval_s, self._sweep, wait_first=True))
        parts.periodic(Periodic("retention-sweep", s.retention_interval_s, self.coordinator.sweep_retention))
        if s.jetstream_stats_s > 0:
            parts.periodic(JetStreamStats(bus.js, s.jetstream_stats_s))

    async def _sweep(self) -> None:
        assert self.coordinator is not None
        if not self.coordinator.view.registry_loaded:
            await self.coordinator.refresh_registry()
        await self.coordinator.sweep_timeouts()
        await self.coordinator.recovery.sweep()

    async def reload(self) -> None:
        """SIGHUP: re-read config/workflows.toml (an invalid file keeps the previous templates)."""
        if self.coordinator is not None:
            self.coordinator.workflows.templates.reload()
