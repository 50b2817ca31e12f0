"""gRPC edge of the coordinator: the Coordinator service, its answers mapped to protobuf here.

Errors (InvalidArgument, NotFound) are mapped to status codes by ``vapora_core.grpc``.
"""

from __future__ import annotations

from typing import Any

import grpc

from vapora.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc
from vapora_core.bus.codec import timestamp
from vapora_swarm_coordinator.records import Explanation
from vapora_swarm_coordinator.service import Coordinator

SERVICE_NAME = "vapora.coordinator.v1.Coordinator"
Ctx = grpc.aio.ServicerContext[Any, Any]


class CoordinatorServicer(coordinator_pb2_grpc.CoordinatorServicer):
    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    async def ExplainAssignment(
        self, request: coordinator_pb2.ExplainAssignmentRequest, context: Ctx
    ) -> coordinator_pb2.Assignment:
        return assignment(await self.coordinator.explain(request.task_id, request.workspace_id))


def assignment(e: Explanation) -> coordinator_pb2.Assignment:
    """``e`` as ExplainAssignment answers it."""
    out = coordinator_pb2.Assignment(
        task_id=e.task_id,
        workspace_id=e.workspace_id,
        agent_id=e.agent_id,
        job_id=e.job_id,
        task_type=e.task_type,
        reason=e.reason,
        attempt=e.attempt,
        assigned_at=timestamp(e.assigned_s),
        policy=e.score.policy if e.score is not None else "",
        score=coordinator_pb2.ScoreBreakdown(**e.score._asdict()) if e.score is not None else None,
    )
    for agent_id, score in e.candidates:
        out.candidates.add(agent_id=agent_id, score=score._asdict())
    return out
