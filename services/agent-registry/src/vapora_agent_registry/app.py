"""agent-registry: built from settings; no I/O until :meth:`RegistryApp.start`."""

from __future__ import annotations

import asyncio
import contextlib

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_agent_registry.directory import AgentDirectory
from vapora_agent_registry.grpc_server import SERVICE_NAME, AgentRegistryServicer
from vapora_agent_registry.repository import NAMESPACE, SCHEMA, AgentRepository
from vapora_agent_registry.service import Registry
from vapora_agent_registry.settings import RegistrySettings
from vapora_agent_registry.subscribers import HeartbeatSubscriber
from vapora_core.aio import cancel_and_wait
from vapora_core.bus import CONSUMERS, Bus
from vapora_core.grpc import GrpcServer
from vapora_core.metrics import Readiness
from vapora_core.store import Store


class RegistryApp:
    def __init__(self, settings: RegistrySettings) -> None:
        self.settings = settings
        self.readiness = Readiness(settings.service_name)
        self.store = Store.from_settings(settings, NAMESPACE)
        self.bus = Bus.from_settings(settings)
        self.registry = Registry(
            heartbeat_timeout_s=settings.heartbeat_timeout_s, remove_after_s=settings.remove_after_s
        )
        self.directory = AgentDirectory(self.registry, AgentRepository(self.store), self.bus)
        self.grpc: GrpcServer | None = None
        self._maintenance: asyncio.Task[None] | None = None

    @property
    def grpc_port(self) -> int:
        return self.grpc.port if self.grpc else 0

    async def start(self) -> None:
        await self.store.open(SCHEMA)
        await self.directory.restore()
        await self.bus.subscribe(
            CONSUMERS.REGISTRY_HEARTBEATS,
            agents_pb2.AgentHeartbeat,
            HeartbeatSubscriber(self.directory),
            workers=self.settings.heartbeat_workers,
        )
        await self.bus.start()
        self.grpc = GrpcServer(
            self.settings.service_name,
            self.settings.grpc_host,
            self.settings.grpc_port,
            [
                (
                    agents_pb2_grpc.add_AgentRegistryServicer_to_server,
                    AgentRegistryServicer(self.directory),
                    SERVICE_NAME,
                )
            ],
        )
        await self.grpc.start()
        self._maintenance = asyncio.create_task(
            self.directory.run_maintenance(self.settings.sweep_interval_s, self.settings.flush_interval_s)
        )

    async def stop(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop(self.settings.shutdown_grace_s)
            self.grpc = None
        await self.bus.stop()
        await cancel_and_wait(self._maintenance)
        self._maintenance = None
        if self.store.is_open:
            with contextlib.suppress(Exception):
                await self.directory.flush()
        await self.store.close()
