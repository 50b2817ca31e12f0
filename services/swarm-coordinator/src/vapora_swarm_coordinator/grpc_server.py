"""gRPC edge of the coordinator: the Coordinator service, its answers mapped to protobuf here
(workflows: ``workflows/messages.py``).

Errors (InvalidArgument, NotFound, PermissionDenied, FailedPrecondition) are mapped to status
codes by ``vapora_core.grpc``. Every workflow request names its workspace; a run of another
workspace is NOT_FOUND, exactly as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from vapora.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc
from vapora_core.bus.codec import timestamp
from vapora_core.errors import Unavailable
from vapora_swarm_coordinator.records import Explanation
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.workflows import messages
from vapora_swarm_coordinator.workflows.draft import GateCall
from vapora_swarm_coordinator.workflows.engine import StartRequest, WorkflowEngine

SERVICE_NAME = "vapora.coordinator.v1.Coordinator"
Ctx = grpc.aio.ServicerContext[Any, Any]


class CoordinatorServicer(coordinator_pb2_grpc.CoordinatorServicer):
    """Answers with the coordinator ``active()`` gives: None while this process is a standby
    (UNAVAILABLE: the caller tries again, and reaches the active one)."""

    def __init__(self, active: Callable[[], Coordinator | None]) -> None:
        self._active = active

    @property
    def coordinator(self) -> Coordinator:
        coordinator = self._active()
        if coordinator is None:
            raise Unavailable("this swarm-coordinator is a standby (it does not hold the coordinator lease)")
        return coordinator

    @property
    def workflows(self) -> WorkflowEngine:
        return self.coordinator.workflows

    async def ExplainAssignment(
        self, request: coordinator_pb2.ExplainAssignmentRequest, context: Ctx
    ) -> coordinator_pb2.Assignment:
        return assignment(await self.coordinator.explain(request.task_id, request.workspace_id))

    # -- workflows ---------------------------------------------------------------------------

    async def ListWorkflows(
        self, request: coordinator_pb2.ListWorkflowsRequest, context: Ctx
    ) -> coordinator_pb2.ListWorkflowsResponse:
        found = await self.workflows.list_templates(request.workspace_id)
        return coordinator_pb2.ListWorkflowsResponse(workflows=[messages.template(t.definition, t) for t in found])

    async def CreateWorkflow(
        self, request: coordinator_pb2.CreateWorkflowRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowTemplate:
        data = messages.template_data(request.workflow)
        made = await self.workflows.create_template(request.workspace_id, data, request.actor)
        return messages.template(made.definition, made)

    async def StartWorkflowRun(
        self, request: coordinator_pb2.StartWorkflowRunRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowRun:
        start = StartRequest(
            workspace_id=request.workspace_id,
            workflow=request.workflow,
            title=request.title,
            description=request.description,
            project_id=request.project_id,
            actor=request.actor,
            run_id=request.run_id,
        )
        return messages.run(await self.workflows.start(start))

    async def GetWorkflowRun(
        self, request: coordinator_pb2.GetWorkflowRunRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowRun:
        workspaces = list(request.workspace_ids) or [request.workspace_id]
        return messages.run(await self.workflows.get(workspaces, request.run_id))

    async def ListWorkflowRuns(
        self, request: coordinator_pb2.ListWorkflowRunsRequest, context: Ctx
    ) -> coordinator_pb2.ListWorkflowRunsResponse:
        state = messages.run_state_name(request.state)
        runs, token = await self.workflows.page(request.workspace_id, state, request.page_token, request.page_size)
        return coordinator_pb2.ListWorkflowRunsResponse(runs=[messages.run(r) for r in runs], next_page_token=token)

    async def ApproveWorkflowGate(
        self, request: coordinator_pb2.WorkflowGateRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowRun:
        run = await self.workflows.approve(request.workspace_id, request.run_id, _gate_call(request))
        return messages.run(run)

    async def RejectWorkflowGate(
        self, request: coordinator_pb2.WorkflowGateRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowRun:
        run = await self.workflows.reject(request.workspace_id, request.run_id, _gate_call(request))
        return messages.run(run)

    async def CancelWorkflowRun(
        self, request: coordinator_pb2.WorkflowRunControlRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowRun:
        run = await self.workflows.cancel(request.workspace_id, request.run_id, request.actor, request.reason)
        return messages.run(run)

    async def PauseWorkflowRun(
        self, request: coordinator_pb2.WorkflowRunControlRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowRun:
        return messages.run(await self.workflows.pause(request.workspace_id, request.run_id))

    async def ResumeWorkflowRun(
        self, request: coordinator_pb2.WorkflowRunControlRequest, context: Ctx
    ) -> coordinator_pb2.WorkflowRun:
        return messages.run(await self.workflows.resume(request.workspace_id, request.run_id))


def _gate_call(r: coordinator_pb2.WorkflowGateRequest) -> GateCall:
    return GateCall(gate_id=r.gate_id, actor=r.actor, role=r.actor_role, comment=r.comment)


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
