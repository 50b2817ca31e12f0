"""agent-registry: built from settings; no I/O until :meth:`RegistryApp.start`."""

from __future__ import annotations

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_agent_registry.directory import AgentDirectory
from vapora_agent_registry.grpc_server import SERVICE_NAME, AgentRegistryServicer
from vapora_agent_registry.repository import NAMESPACE, SCHEMA, AgentRepository
from vapora_agent_registry.service import Registry
from vapora_agent_registry.settings import RegistrySettings
from vapora_agent_registry.subscribers import HeartbeatSubscriber
from vapora_core.bus import CONSUMERS, Bus
from vapora_core.grpc import GrpcServer
from vapora_core.parts import ServiceApp
from vapora_core.store import Store


class RegistryApp(ServiceApp):
    def __init__(self, settings: RegistrySettings) -> None:
        super().__init__(settings)
        self.settings = settings
        self.store = Store.from_settings(settings, NAMESPACE)
        self.bus = Bus.from_settings(settings)
        self.registry = Registry(
            heartbeat_timeout_s=settings.heartbeat_timeout_s, remove_after_s=settings.remove_after_s
        )
        self.directory = AgentDirectory(self.registry, AgentRepository(self.store), self.bus)

    async def start(self) -> None:
        """Start the parts; :meth:`stop` stops them in reverse: the sweep and the flush loop, gRPC,
        the bus, then one last flush of the heartbeats handled meanwhile, then the store."""
        s, parts = self.settings, self.parts
        await parts.store(self.store, SCHEMA)
        parts.callback("the last heartbeat flush", self.directory.flush)
        await self.directory.restore()
        await self.bus.subscribe(
            CONSUMERS.REGISTRY_HEARTBEATS,
            agents_pb2.AgentHeartbeat,
            HeartbeatSubscriber(self.directory),
            workers=s.heartbeat_workers,
        )
        await parts.bus(self.bus)
        self.grpc = await parts.grpc(
            GrpcServer(
                s.service_name,
                s.grpc_host,
                s.grpc_port,
                [
                    (
                        agents_pb2_grpc.add_AgentRegistryServicer_to_server,
                        AgentRegistryServicer(self.directory),
                        SERVICE_NAME,
                    )
                ],
            )
        )
        for loop in self.directory.maintenance(s.sweep_interval_s, s.flush_interval_s):
            parts.periodic(loop)
