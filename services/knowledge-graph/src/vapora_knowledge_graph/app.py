"""The knowledge-graph process: store, bus consumers, gRPC server, retention sweep."""

from __future__ import annotations

import logging
import time

from vapora.kg.v1 import kg_pb2_grpc
from vapora_core.aio import Periodic
from vapora_core.bus import Bus
from vapora_core.grpc import GrpcServer
from vapora_core.metrics import Readiness
from vapora_core.store import Store
from vapora_knowledge_graph import subscribers
from vapora_knowledge_graph.grpc_server import SERVICE_NAME, KnowledgeGraphServicer
from vapora_knowledge_graph.learning import DAY_S
from vapora_knowledge_graph.metrics import export_profiles
from vapora_knowledge_graph.repository import NAMESPACE, SCHEMA, KgRepository
from vapora_knowledge_graph.service import Clock, KnowledgeGraph
from vapora_knowledge_graph.settings import KgSettings
from vapora_knowledge_graph.steps_repository import SCHEMA as STEPS_SCHEMA
from vapora_knowledge_graph.steps_repository import StepsRepository
from vapora_knowledge_graph.transcripts import Transcripts

log = logging.getLogger("vapora.kg")


class KnowledgeGraphApp:
    def __init__(self, settings: KgSettings, *, clock: Clock = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.readiness = Readiness(settings.service_name)
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.grpc: GrpcServer | None = None
        self.kg: KnowledgeGraph | None = None
        self.transcripts: Transcripts | None = None
        self._sweeper: Periodic | None = None

    @property
    def grpc_port(self) -> int:
        return self.grpc.port if self.grpc else 0

    async def start(self) -> None:
        s = self.settings
        self.store = Store.from_settings(s, NAMESPACE)
        await self.store.open((*SCHEMA, *STEPS_SCHEMA))
        self.bus = Bus.from_settings(s)
        repo = KgRepository(self.store)
        self.kg = KnowledgeGraph(repo, subscribers.ProfilePublisher(self.bus), clock=self.clock)
        self.transcripts = transcripts = Transcripts(StepsRepository(self.store), repo)
        export_profiles(await self.kg.profiles([], ""))  # the metrics show every stored profile from the start
        await subscribers.subscribe(self.bus, self.kg, transcripts, workers=s.consumer_workers)
        await self.bus.start()
        self.grpc = GrpcServer(
            s.service_name,
            s.grpc_host,
            s.grpc_port,
            [
                (
                    kg_pb2_grpc.add_KnowledgeGraphServicer_to_server,
                    KnowledgeGraphServicer(self.kg, transcripts),
                    SERVICE_NAME,
                )
            ],
        )
        await self.grpc.start()
        kg = self.kg

        async def sweep() -> None:
            await kg.sweep(self.settings.retention_days)
            await transcripts.sweep(self.clock() - self.settings.retention_days * DAY_S)

        self._sweeper = Periodic("retention-sweep", self.settings.retention_interval_s, sweep)
        self._sweeper.start()

    async def stop(self) -> None:
        if self._sweeper is not None:
            await self._sweeper.stop()
        if self.bus is not None:
            await self.bus.stop()
        if self.grpc is not None:
            await self.grpc.stop(self.settings.shutdown_grace_s)
        if self.store is not None:
            await self.store.close()
