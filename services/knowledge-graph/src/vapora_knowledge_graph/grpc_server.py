"""gRPC edge of the knowledge-graph: the KnowledgeGraph service."""

from __future__ import annotations

from typing import Any

import grpc

from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora_knowledge_graph.service import KnowledgeGraph
from vapora_knowledge_graph.transcripts import Transcripts

SERVICE_NAME = "vapora.kg.v1.KnowledgeGraph"
Ctx = grpc.aio.ServicerContext[Any, Any]


class KnowledgeGraphServicer(kg_pb2_grpc.KnowledgeGraphServicer):
    def __init__(self, kg: KnowledgeGraph, transcripts: Transcripts) -> None:
        self.kg = kg
        self.transcripts = transcripts

    async def GetLearningProfile(
        self, request: kg_pb2.GetLearningProfileRequest, context: Ctx
    ) -> kg_pb2.LearningProfile:
        return await self.kg.profile(request.agent_id, request.task_type, request.workspace_id)

    async def GetLearningProfiles(
        self, request: kg_pb2.GetLearningProfilesRequest, context: Ctx
    ) -> kg_pb2.GetLearningProfilesResponse:
        profiles = await self.kg.profiles(list(request.agent_ids), request.task_type, request.workspace_id)
        return kg_pb2.GetLearningProfilesResponse(profiles=profiles)

    async def GetLearningCurve(
        self, request: kg_pb2.GetLearningCurveRequest, context: Ctx
    ) -> kg_pb2.GetLearningCurveResponse:
        points = await self.kg.curve(request.agent_id, request.task_type, request.days, request.workspace_id)
        return kg_pb2.GetLearningCurveResponse(points=points)

    async def QueryExecutions(
        self, request: kg_pb2.QueryExecutionsRequest, context: Ctx
    ) -> kg_pb2.QueryExecutionsResponse:
        return kg_pb2.QueryExecutionsResponse(executions=await self.kg.query(request))

    async def GetSteps(self, request: kg_pb2.GetStepsRequest, context: Ctx) -> kg_pb2.GetStepsResponse:
        return await self.transcripts.get_steps(request)
