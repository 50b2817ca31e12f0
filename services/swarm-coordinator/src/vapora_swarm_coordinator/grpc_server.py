"""gRPC edge of the coordinator: the Coordinator service."""

from __future__ import annotations

from typing import Any

import grpc

from vapora.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc
from vapora_swarm_coordinator.service import Coordinator

SERVICE_NAME = "vapora.coordinator.v1.Coordinator"
Ctx = grpc.aio.ServicerContext[Any, Any]


class CoordinatorServicer(coordinator_pb2_grpc.CoordinatorServicer):
    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    async def ExplainAssignment(
        self, request: coordinator_pb2.ExplainAssignmentRequest, context: Ctx
    ) -> coordinator_pb2.Assignment:
        return await self.coordinator.explain(request.task_id, request.workspace_id)
