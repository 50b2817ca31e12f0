"""The knowledge-graph process: store, bus consumers, gRPC server, retention sweep."""

from __future__ import annotations

import logging
import time

from vapora.kg.v1 import kg_pb2_grpc
from vapora_core.aio import Periodic
from vapora_core.bus import Bus
from vapora_core.grpc import GrpcServer
from vapora_core.parts import ServiceApp
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


class KnowledgeGraphApp(ServiceApp):
    def __init__(self, settings: KgSettings, *, clock: Clock = time.time) -> None:
        super().__init__(settings)
        self.settings = settings
        self.clock = clock
        self.store: Store | None = None
        self.bus: Bus | None = None
        self.kg: KnowledgeGraph | None = None
        self.transcripts: Transcripts | None = None

    async def start(self) -> None:
        """Start the parts; :meth:`stop` stops them in reverse: the sweep, gRPC, the bus, the store."""
        s, parts = self.settings, self.parts
        self.store = await parts.store(Store.from_settings(s, NAMESPACE), (*SCHEMA, *STEPS_SCHEMA))
        self.bus = bus = Bus.from_settings(s)
        repo = KgRepository(self.store)
        self.kg = kg = KnowledgeGraph(repo, subscribers.ProfilePublisher(bus), clock=self.clock)
        self.transcripts = transcripts = Transcripts(StepsRepository(self.store), repo)
        export_profiles(await kg.profiles([], ""))  # the metrics show every stored profile from the start
        await subscribers.subscribe(bus, kg, transcripts, workers=s.consumer_workers)
        await parts.bus(bus)
        servicer = KnowledgeGraphServicer(kg, transcripts)
        self.grpc = await parts.grpc(
            GrpcServer(
                s.service_name,
                s.grpc_host,
                s.grpc_port,
                [(kg_pb2_grpc.add_KnowledgeGraphServicer_to_server, servicer, SERVICE_NAME)],
            )
        )

        async def sweep() -> None:  # transcripts and usage go with the executions they belong to
            await kg.sweep(s.retention_days)
            await transcripts.sweep(self.clock() - s.retention_days * DAY_S)

        parts.periodic(Periodic("retention-sweep", s.retention_interval_s, sweep))
