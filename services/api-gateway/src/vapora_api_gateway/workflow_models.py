"""Request and response bodies of the workflow routes (``/workflows``, ``/workflow-runs``).

A template's body says the shape of each field (names, lengths, numbers in range); what JSON Schema
cannot say — stages that exist, no cycle, inputs upstream, the fleet's task types and roles — the
swarm-coordinator checks, and its answer names the workflow, the stage and the field.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, RootModel, StringConstraints

from vapora_api_gateway.bodies import Body
from vapora_api_gateway.models import EventOut

NAME = r"^[a-z][a-z0-9_-]{0,62}$"
STAGE_ID = r"^[a-z][a-z0-9_-]{0,31}$"
RUN_ID = r"^[0-9a-f]{16}$"
RunState = Literal["running", "waiting_approval", "paused", "succeeded", "failed", "cancelled"]
StageId = Annotated[str, StringConstraints(pattern=STAGE_ID, max_length=32)]
OptionalStageId = Annotated[str, StringConstraints(pattern=r"^(?:[a-z][a-z0-9_-]{0,31})?$", max_length=32)]
Approver = Literal["owner", "admin", "member", "viewer"]


class StageIn(Body):
    id: StageId
    kind: Literal["task", "gate"] = "task"
    task_type: str = Field(default="", max_length=64, pattern=r"^[a-z0-9_-]*$")
    role: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    title: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=20_000)
    needs: list[StageId] = Field(default_factory=list, max_length=50)
    inputs: list[StageId] = Field(default_factory=list, max_length=50)
    retries: int = Field(default=1, ge=0, le=10)
    timeout_s: float = Field(default=1800.0, gt=0, le=7 * 86400)
    priority: Literal["critical", "high", "normal", "low"] = "normal"
    on_failure: OptionalStageId = ""
    max_failure_rounds: int = Field(default=2, ge=1, le=10)
    approvers: list[Approver] = Field(default_factory=list, max_length=4)
    on_reject: OptionalStageId = ""
    max_rejections: int = Field(default=2, ge=0, le=10)


class WorkflowIn(Body):
    name: str = Field(pattern=NAME, max_length=63)
    description: str = Field(default="", max_length=5000)
    stages: list[StageIn] = Field(min_length=1, max_length=50)
    workspace_id: str = Field(default="", max_length=64)


class RunIn(Body):
    workflow: str = Field(pattern=NAME, max_length=63)
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=100_000)
    project_id: str = Field(default="", max_length=32, pattern=r"^(?:[0-9a-f]{32})?$")
    workspace_id: str = Field(default="", max_length=64)


class GateIn(Body):
    stage_id: OptionalStageId = Field(default="", description="The gate's stage id; empty: the one gate waiting.")
    comment: str = Field(default="", max_length=5000)


class RejectIn(Body):
    stage_id: OptionalStageId = Field(default="", description="The gate's stage id; empty: the one gate waiting.")
    comment: str = Field(min_length=1, max_length=5000, description="Given to the stage the run goes back to.")


class GateCommand(Body):
    """A gate decision sent on a workspace's WebSocket (``{"type": "approve", ...}``); answered with
    ``{"type": "result", "id", "run"}`` or ``{"type": "error", "id", "status", "detail"}``."""

    type: Literal["approve", "reject"]
    id: str = Field(default="", max_length=64, description="The client's id of the command, echoed in its answer.")
    run_id: str = Field(pattern=RUN_ID, max_length=16)
    stage_id: OptionalStageId = ""
    comment: str = Field(default="", max_length=5000)


class RunControlIn(Body):
    reason: str = Field(default="", max_length=2000)


# -- responses ---------------------------------------------------------------------------------


class StageDefOut(BaseModel):
    id: str
    kind: str
    task_type: str = ""
    role: str = ""
    title: str = ""
    description: str = ""
    needs: list[str]
    inputs: list[str]
    retries: int
    timeout_s: float
    priority: str
    on_failure: str = ""
    max_failure_rounds: int
    approvers: list[str]
    on_reject: str = ""
    max_rejections: int


class WorkflowOut(BaseModel):
    name: str
    description: str = ""
    workspace_id: str | None = Field(description="The workspace that made it; null for a shared template.")
    created_by: str = ""
    created_at: str = ""
    stages: list[StageDefOut]


class WorkflowList(BaseModel):
    items: list[WorkflowOut]


class DecisionOut(BaseModel):
    round: int
    approved: bool
    actor: str
    role: str
    comment: str = ""
    at: str


class StageStateOut(BaseModel):
    """Where a stage of a run is, and the outcome of its last finished attempt."""

    id: str
    kind: str
    state: str
    attempt: int
    task_id: str = ""
    agent_id: str = ""
    task_type: str = ""
    started_at: str = ""
    finished_at: str = ""
    success: bool
    verified: bool
    result: str = ""
    verdict: str = ""
    commit: str = ""
    cost_cents: float
    execution_id: str = ""
    input_comment: str = ""
    detail: str = ""
    rejections: int
    decisions: list[DecisionOut]


class StageOut(StageStateOut):
    """A stage of a run, with what its template says of it (to draw the DAG)."""

    needs: list[str]
    role: str = ""
    approvers: list[str]


class RunOut(BaseModel):
    id: str
    workspace_id: str
    project_id: str = ""
    workflow: str
    title: str
    description: str = ""
    state: RunState
    branch: str
    created_by: str = ""
    created_at: str
    updated_at: str = ""
    ended_at: str = ""
    detail: str = ""
    cost_cents: float
    version: int
    stages: list[StageOut]


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None = None


class WorkflowEventOut(BaseModel):
    """A run's change on the event streams (SSE ``event: workflow``, WebSocket ``type: workflow``)."""

    id: int = Field(description="The event's sequence number; resume after it.")
    run_id: str
    workspace_id: str
    workflow: str
    state: str
    version: int
    title: str = ""
    detail: str = ""
    stage: StageStateOut | None = None
    task_title: str = ""
    at: str = ""


class StreamEventOut(RootModel[EventOut | WorkflowEventOut]):
    """One event of a workspace's stream: a task's (``task``) or a workflow run's (``workflow``)."""
