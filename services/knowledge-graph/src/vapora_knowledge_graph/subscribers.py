"""Bus edges of the knowledge-graph: decode, call the service, let the bus ack or dead-letter."""

from __future__ import annotations

from collections.abc import Sequence

from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import CONSUMERS, Bus, Delivery, subjects
from vapora_knowledge_graph.metrics import FEEDBACK
from vapora_knowledge_graph.service import KnowledgeGraph
from vapora_knowledge_graph.transcripts import Transcripts


class ProfilePublisher:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def __call__(self, profiles: Sequence[kg_pb2.LearningProfile]) -> None:
        await self.bus.publish(subjects.PROFILES_CHANGED, kg_pb2.ProfilesChanged(profiles=list(profiles)))


async def subscribe(bus: Bus, kg: KnowledgeGraph, transcripts: Transcripts, *, workers: int) -> None:
    async def on_execution(msg: kg_pb2.ExecutionRecorded, _: Delivery) -> None:
        await kg.record(msg)

    async def on_feedback(msg: tasks_pb2.FeedbackCorrection, _: Delivery) -> None:
        await kg.correct(msg)
        FEEDBACK.inc()

    async def on_step(msg: kg_pb2.StepRecorded, _: Delivery) -> None:
        await transcripts.record_step(msg)

    async def on_usage(msg: llm_pb2.LlmUsage, _: Delivery) -> None:
        await transcripts.record_usage(msg)

    await bus.subscribe(CONSUMERS.KG_EXECUTIONS, kg_pb2.ExecutionRecorded, on_execution, workers=workers)
    await bus.subscribe(CONSUMERS.KG_FEEDBACK, tasks_pb2.FeedbackCorrection, on_feedback)
    await bus.subscribe(CONSUMERS.KG_STEPS, kg_pb2.StepRecorded, on_step, workers=workers)
    await bus.subscribe(CONSUMERS.KG_USAGE, llm_pb2.LlmUsage, on_usage, workers=workers)
