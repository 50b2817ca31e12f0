"""Workflows as protobuf: templates, runs, stages and their changes (``coordinator.v1``), both ways.

States are enums on the wire and lowercase words in the store (``WORKFLOW_RUN_STATE_RUNNING`` is
``running``). A template sent to CreateWorkflow becomes plain data for :func:`definitions.parse`,
with only the fields the caller set, so the definition's defaults fill the rest.
"""

from __future__ import annotations

from typing import Any

from vapora.coordinator.v1 import coordinator_pb2
from vapora_core.bus.codec import timestamp
from vapora_core.errors import InvalidArgument
from vapora_swarm_coordinator.workflows.definitions import StageDef, WorkflowDef
from vapora_swarm_coordinator.workflows.model import Decision, Run, Stage
from vapora_swarm_coordinator.workflows.templates import Template

_RUN_PREFIX = "WORKFLOW_RUN_STATE_"
_STAGE_PREFIX = "WORKFLOW_STAGE_STATE_"


def run_state(state: str) -> str:
    """The enum's name of a run state (protobuf constructors take it): ``WORKFLOW_RUN_STATE_RUNNING``."""
    return _RUN_PREFIX + state.upper()


def run_state_name(value: coordinator_pb2.WorkflowRunState) -> str:
    """``running`` for WORKFLOW_RUN_STATE_RUNNING; "" for unspecified; InvalidArgument for a
    number no state has."""
    if not value:
        return ""
    try:
        return coordinator_pb2.WorkflowRunState.Name(value).removeprefix(_RUN_PREFIX).lower()
    except ValueError:
        raise InvalidArgument(f"state {int(value)} is no WorkflowRunState") from None


def stage_state(state: str) -> str:
    """The enum's name of a stage state: ``WORKFLOW_STAGE_STATE_DONE``."""
    return _STAGE_PREFIX + state.upper()


def _ts(seconds: float) -> Any:
    return timestamp(seconds) if seconds else None


def stage_def(s: StageDef) -> coordinator_pb2.WorkflowStage:
    return coordinator_pb2.WorkflowStage(
        id=s.id,
        kind=s.kind,
        task_type=s.task_type,
        role=s.role,
        title=s.title,
        description=s.description,
        needs=list(s.needs),
        inputs=list(s.inputs),
        retries=s.retries,
        timeout_s=s.timeout_s,
        priority=s.priority,
        on_failure=s.on_failure,
        max_failure_rounds=s.max_failure_rounds,
        approvers=list(s.approvers),
        on_reject=s.on_reject,
        max_rejections=s.max_rejections,
    )


def template(d: WorkflowDef, t: Template | None = None) -> coordinator_pb2.WorkflowTemplate:
    out = coordinator_pb2.WorkflowTemplate(
        name=d.name, description=d.description, stages=[stage_def(s) for s in d.stages]
    )
    if t is not None:
        out.workspace_id = t.workspace_id
        out.created_by = t.created_by
        if t.created_s:
            out.created_at.CopyFrom(timestamp(t.created_s))
    return out


_OPTIONAL = ("retries", "timeout_s", "max_failure_rounds", "max_rejections")
_TEXT = ("kind", "task_type", "role", "title", "description", "priority", "on_failure", "on_reject")
_LISTS = ("needs", "inputs", "approvers")


def template_data(t: coordinator_pb2.WorkflowTemplate) -> dict[str, Any]:
    """A template sent over gRPC as plain data: only what the caller set."""
    stages = []
    for s in t.stages:
        data: dict[str, Any] = {"id": s.id}
        data.update({f: getattr(s, f) for f in _TEXT if getattr(s, f)})
        data.update({f: list(getattr(s, f)) for f in _LISTS if getattr(s, f)})
        data.update({f: getattr(s, f) for f in _OPTIONAL if s.HasField(f)})
        stages.append(data)
    out: dict[str, Any] = {"name": t.name, "stages": stages}
    if t.description:
        out["description"] = t.description
    return out


def decision(d: Decision) -> coordinator_pb2.GateDecision:
    return coordinator_pb2.GateDecision(
        round=d.round, approved=d.approved, actor=d.actor, role=d.role, comment=d.comment, at=timestamp(d.at_s)
    )


def stage(st: Stage, decisions: list[Decision] | None = None) -> coordinator_pb2.StageState:
    return coordinator_pb2.StageState(
        stage_id=st.stage_id,
        kind=st.kind,
        state=stage_state(st.state),
        attempt=st.attempt,
        task_id=st.task_id,
        agent_id=st.agent_id,
        task_type=st.task_type,
        started_at=_ts(st.started_s),
        finished_at=_ts(st.finished_s),
        success=st.success,
        verified=st.verified,
        result=st.result,
        verdict=st.verdict,
        commit=st.commit,
        cost_cents=st.cost_cents,
        execution_id=st.execution_id,
        input_comment=st.input_comment,
        detail=st.detail,
        rejections=st.rejections,
        decisions=[decision(d) for d in decisions or () if d.gate_id == st.stage_id],
    )


def run(r: Run) -> coordinator_pb2.WorkflowRun:
    return coordinator_pb2.WorkflowRun(
        id=r.id,
        workspace_id=r.workspace_id,
        project_id=r.project_id,
        workflow=r.workflow,
        template=template(r.template),
        title=r.title,
        description=r.description,
        state=run_state(r.state),
        branch=r.branch,
        created_by=r.created_by,
        created_at=_ts(r.created_s),
        updated_at=_ts(r.updated_s),
        ended_at=_ts(r.ended_s),
        stages=[stage(st, r.decisions) for st in r.stages.values()],
        detail=r.detail,
        cost_cents=r.cost_cents,
        version=r.version,
    )
