"""The swarm-coordinator's workflow control over gRPC, answered as JSON-ready dicts.

The gateway keeps no copy of runs: every read and change goes to the coordinator, which owns them.
Each request names the workspace the caller's authorization was checked in (and, for a gate, the
caller's role there, which must be one of the gate's approvers); the coordinator answers NOT_FOUND
for a run of another workspace, so the gateway's 404 reveals nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from vapora.coordinator.v1 import coordinator_pb2 as pb
from vapora.coordinator.v1 import coordinator_pb2_grpc
from vapora_api_gateway.workflow_models import RunIn, WorkflowIn
from vapora_core import grpc as vgrpc

_RUN_STATE = "WORKFLOW_RUN_STATE_"
_STAGE_STATE = "WORKFLOW_STAGE_STATE_"
_OPTIONAL = ("retries", "timeout_s", "max_failure_rounds", "max_rejections")


def iso(ts: Timestamp) -> str:
    if not ts.seconds and not ts.nanos:
        return ""
    return str(ts.ToJsonString())


def run_state(value: int) -> str:
    return pb.WorkflowRunState.Name(value).removeprefix(_RUN_STATE).lower()


def stage_state(s: pb.StageState) -> dict[str, Any]:
    """A stage of a run as it is now (what an event carries)."""
    return {
        "id": s.stage_id,
        "kind": s.kind,
        "state": pb.WorkflowStageState.Name(s.state).removeprefix(_STAGE_STATE).lower(),
        "attempt": s.attempt,
        "task_id": s.task_id,
        "agent_id": s.agent_id,
        "task_type": s.task_type,
        "started_at": iso(s.started_at),
        "finished_at": iso(s.finished_at),
        "success": s.success,
        "verified": s.verified,
        "result": s.result,
        "verdict": s.verdict,
        "commit": s.commit,
        "cost_cents": s.cost_cents,
        "execution_id": s.execution_id,
        "input_comment": s.input_comment,
        "detail": s.detail,
        "rejections": s.rejections,
        "decisions": [
            {
                "round": d.round,
                "approved": d.approved,
                "actor": d.actor,
                "role": d.role,
                "comment": d.comment,
                "at": iso(d.at),
            }
            for d in s.decisions
        ],
    }


def _stage_def(s: pb.WorkflowStage) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind or "task",
        "task_type": s.task_type,
        "role": s.role,
        "title": s.title,
        "description": s.description,
        "needs": list(s.needs),
        "inputs": list(s.inputs),
        "retries": s.retries,
        "timeout_s": s.timeout_s,
        "priority": s.priority or "normal",
        "on_failure": s.on_failure,
        "max_failure_rounds": s.max_failure_rounds,
        "approvers": list(s.approvers),
        "on_reject": s.on_reject,
        "max_rejections": s.max_rejections,
    }


def template(t: pb.WorkflowTemplate) -> dict[str, Any]:
    return {
        "name": t.name,
        "description": t.description,
        "workspace_id": t.workspace_id or None,  # null: a shared template (config/workflows.toml)
        "created_by": t.created_by,
        "created_at": iso(t.created_at),
        "stages": [_stage_def(s) for s in t.stages],
    }


def run(r: pb.WorkflowRun) -> dict[str, Any]:
    defs = {s.id: s for s in r.template.stages}
    stages = []
    for s in r.stages:
        d = defs.get(s.stage_id)
        extra = {"needs": list(d.needs), "role": d.role, "approvers": list(d.approvers)} if d else {}
        stages.append({**stage_state(s), "needs": [], "role": "", "approvers": [], **extra})
    return {
        "id": r.id,
        "workspace_id": r.workspace_id,
        "project_id": r.project_id,
        "workflow": r.workflow,
        "title": r.title,
        "description": r.description,
        "state": run_state(r.state),
        "branch": r.branch,
        "created_by": r.created_by,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "ended_at": iso(r.ended_at),
        "detail": r.detail,
        "cost_cents": r.cost_cents,
        "version": r.version,
        "stages": stages,
    }


def event(seq: int, e: pb.WorkflowRunChanged) -> dict[str, Any]:
    """A WorkflowRunChanged as the event streams send it (``id`` is its stream sequence)."""
    return {
        "id": seq,
        "run_id": e.run_id,
        "workspace_id": e.workspace_id,
        "workflow": e.workflow,
        "state": run_state(e.state),
        "version": e.version,
        "title": e.title,
        "detail": e.detail,
        "stage": stage_state(e.stage) if e.HasField("stage") else None,
        "task_title": e.task_title,
        "at": iso(e.at),
    }


def template_message(body: WorkflowIn) -> pb.WorkflowTemplate:
    stages = []
    for s in body.stages:
        fields = s.model_dump(exclude_unset=True)  # the coordinator's defaults fill what was not sent
        fields.pop("id", None)
        stages.append(pb.WorkflowStage(id=s.id, **{k: v for k, v in fields.items() if k not in _OPTIONAL}))
        for name in _OPTIONAL:
            if name in fields:
                setattr(stages[-1], name, fields[name])
    return pb.WorkflowTemplate(name=body.name, description=body.description, stages=stages)


class WorkflowClient:
    def __init__(self, stub: coordinator_pb2_grpc.CoordinatorStub, addr: str) -> None:
        self._stub = stub
        self.addr = addr

    async def _call(self, method: Any, request: Any, *, attempts: int = 3) -> Any:
        return await vgrpc.call(self.addr, lambda: method(request), attempts=attempts)

    async def templates(self, workspace_id: str) -> dict[str, Any]:
        reply = await self._call(self._stub.ListWorkflows, pb.ListWorkflowsRequest(workspace_id=workspace_id))
        return {"items": [template(t) for t in reply.workflows]}

    async def create_template(self, workspace_id: str, body: WorkflowIn, actor: str) -> dict[str, Any]:
        req = pb.CreateWorkflowRequest(workspace_id=workspace_id, workflow=template_message(body), actor=actor)
        return template(await self._call(self._stub.CreateWorkflow, req, attempts=1))

    async def start(self, workspace_id: str, body: RunIn, actor: str, run_id: str) -> dict[str, Any]:
        """Start a run under ``run_id`` (the gateway's, so a retried call is the same run)."""
        req = pb.StartWorkflowRunRequest(
            workspace_id=workspace_id,
            workflow=body.workflow,
            title=body.title,
            description=body.description,
            project_id=body.project_id,
            actor=actor,
            run_id=run_id,
        )
        return run(await self._call(self._stub.StartWorkflowRun, req))

    async def get(self, workspace_ids: Sequence[str], run_id: str) -> dict[str, Any]:
        req = pb.GetWorkflowRunRequest(run_id=run_id, workspace_ids=list(workspace_ids))
        return run(await self._call(self._stub.GetWorkflowRun, req))

    async def page(self, workspace_id: str, state: str, cursor: str, limit: int) -> dict[str, Any]:
        req = pb.ListWorkflowRunsRequest(
            workspace_id=workspace_id,
            state=pb.WorkflowRunState.Value(_RUN_STATE + state.upper()) if state else 0,  # type: ignore[arg-type]
            page_size=limit,
            page_token=cursor,
        )
        reply = await self._call(self._stub.ListWorkflowRuns, req)
        return {"items": [run(r) for r in reply.runs], "next_cursor": reply.next_page_token or None}

    async def decide(
        self, *, approve: bool, workspace_id: str, run_id: str, gate: str, actor: str, role: str, comment: str
    ) -> dict[str, Any]:
        req = pb.WorkflowGateRequest(
            workspace_id=workspace_id, run_id=run_id, gate_id=gate, actor=actor, actor_role=role, comment=comment
        )
        method = self._stub.ApproveWorkflowGate if approve else self._stub.RejectWorkflowGate
        return run(await self._call(method, req))

    async def control(self, action: str, workspace_id: str, run_id: str, actor: str, reason: str) -> dict[str, Any]:
        """``cancel``, ``pause`` or ``resume`` a run."""
        methods = {
            "cancel": self._stub.CancelWorkflowRun,
            "pause": self._stub.PauseWorkflowRun,
            "resume": self._stub.ResumeWorkflowRun,
        }
        req = pb.WorkflowRunControlRequest(workspace_id=workspace_id, run_id=run_id, actor=actor, reason=reason)
        return run(await self._call(methods[action], req))
