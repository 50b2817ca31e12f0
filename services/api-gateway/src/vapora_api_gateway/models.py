"""Request and response bodies of the REST API; the OpenAPI document is built from them.

Every request body is a :class:`~vapora_api_gateway.bodies.Body` (strict, the text rule, stripped
strings; its schema says so).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from vapora_api_gateway import text
from vapora_api_gateway.bodies import VERBATIM, Body
from vapora_api_gateway.code_models import ArtifactsOut, VerificationOut

Priority = Literal["critical", "high", "normal", "low"]
State = Literal["submitted", "assigned", "running", "done", "failed", "cancelled"]
Role = Literal["owner", "admin", "member", "viewer"]

EMAIL_PATTERN = rf"^[^@\u0000{text.WHITESPACE}]{{1,64}}@[^@\u0000{text.WHITESPACE}]{{1,255}}$"
EMAIL = re.compile(EMAIL_PATTERN)
TASK_TYPE_PATTERN = r"^[A-Za-z0-9_-]*$"
ID_PATTERN = r"^(?:[0-9a-f]{32})?$"  # what security.new_id makes (projects, tasks, workspaces, users)

Verbatim = Annotated[str, VERBATIM]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=EMAIL_PATTERN)]
LabelKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LabelValue = Annotated[str, StringConstraints(max_length=500)]


# -- requests --------------------------------------------------------------------------


class RegisterIn(Body):
    email: Email
    password: Verbatim = Field(min_length=8, max_length=1024)
    display_name: str = Field(default="", max_length=200)


class LoginIn(Body):
    email: str = Field(min_length=1, max_length=320)
    password: Verbatim = Field(min_length=1, max_length=1024)


class RefreshIn(Body):
    refresh_token: Verbatim = Field(min_length=1, max_length=4096)


class WorkspaceIn(Body):
    name: str = Field(min_length=1, max_length=200)


class MemberIn(Body):
    email: Email
    role: Role = "member"


class RoleIn(Body):
    role: Role


class ProjectIn(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


class ProjectPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class TaskIn(Body):
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=100_000)
    task_type: Annotated[str, StringConstraints(to_lower=True)] = Field(
        default="", max_length=64, pattern=TASK_TYPE_PATTERN
    )
    priority: Priority = "normal"
    complexity: Literal["", "low", "medium", "high"] = ""
    project_id: str = Field(default="", max_length=32, pattern=ID_PATTERN)
    workspace_id: str = Field(default="", max_length=64)
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=32)


class StatusIn(Body):
    state: Literal["assigned", "running", "done", "failed"]
    detail: str = Field(default="", max_length=2000)


class CancelIn(Body):
    reason: str = Field(default="", max_length=2000)


class FeedbackIn(Body):
    success: bool
    quality: float = Field(default=1.0, ge=0.0, le=1.0)
    comment: str = Field(default="", max_length=5000)


class ApiTokenIn(Body):
    name: str = Field(min_length=1, max_length=200)
    role: Role = "member"


# -- responses -------------------------------------------------------------------------


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str = ""


class WorkspaceOut(BaseModel):
    id: str
    name: str
    created_at: str = ""
    role: str = ""


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_expires_in: int


class RegisterOut(TokensOut):
    user: UserOut
    workspace: WorkspaceOut


class LoginOut(TokensOut):
    user: UserOut


class SessionOut(BaseModel):
    """The web UI's session: the refresh token is in the HttpOnly cookie, not here."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    user: UserOut


class WorkspaceList(BaseModel):
    items: list[WorkspaceOut]


class MemberOut(BaseModel):
    user_id: str
    email: str = ""
    display_name: str = ""
    role: str
    added_at: str = ""


class MemberList(BaseModel):
    items: list[MemberOut]


class ProjectOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    description: str = ""
    created_at: str = ""


class ProjectList(BaseModel):
    items: list[ProjectOut]


class HistoryEntry(BaseModel):
    state: str
    at: str
    agent_id: str = ""
    detail: str = ""


class TaskOut(BaseModel):
    id: str
    workspace_id: str
    project_id: str = ""
    title: str
    description: str = ""
    task_type: str = ""
    priority: str
    complexity: str = ""
    state: str
    agent_id: str = ""
    provider: str = ""
    model: str = ""
    result: str = ""
    execution_id: str = ""
    submitted_by: str = ""
    created_at: str
    updated_at: str
    history: list[HistoryEntry]
    step: int = Field(default=0, description="While running: the step of its run that started last.")
    tool: str = Field(default="", description="While running: the tools that step calls; empty for a model turn.")
    input_tokens: int = Field(
        default=0, description="Once done or failed: the tokens of the execution that settled it."
    )
    output_tokens: int = 0
    cost_cents: float = Field(default=0.0, description="Once done or failed: what that execution's model calls cost.")
    workflow_run_id: str = Field(default="", description="The workflow run whose stage this task is, if any.")
    stage_id: str = ""
    verification: VerificationOut | None = Field(
        default=None,
        description="Once done or failed: the evidence its outcome rests on (tests, verdict, self-report).",
    )
    artifacts: ArtifactsOut | None = Field(
        default=None, description="Once done or failed: the job's commit in the project's repository, if it has one."
    )


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = None


class FeedbackOut(BaseModel):
    task_id: str
    execution_id: str
    accepted: bool


class CandidateOut(BaseModel):
    agent_id: str
    score: dict[str, float | bool]


class AssignmentOut(BaseModel):
    task_id: str
    workspace_id: str
    agent_id: str
    job_id: str = ""
    task_type: str = ""
    score: dict[str, float | bool]
    candidates: list[CandidateOut]
    reason: str = ""
    policy: str = Field(
        default="", description="seed (the seed's total ranked) or thompson (the draw from Beta(alpha, beta) ranked)."
    )
    attempt: int = 0
    assigned_at: str = ""


class AgentOut(BaseModel):
    id: str
    role: str
    workspace_id: str | None = Field(description="The workspace this agent is private to; null for a shared agent.")
    capabilities: list[dict[str, str | float]]
    status: str
    current_load: int
    max_concurrency: int
    preferred_provider: str = ""
    preferred_model: str = ""
    last_heartbeat: str = ""


class AgentList(BaseModel):
    items: list[AgentOut]
    next_page_token: str = ""


class ProfileOut(BaseModel):
    task_type: str
    expertise: float = Field(description="Recency-weighted success rate, w = 3·e^(−age_days/7).")
    confidence: float = Field(description="min(1, executions / 20).")
    executions: int
    successes: int
    success_rate: float
    mean_quality: float
    mean_latency_ms: float
    mean_cost_cents: float
    updated_at: str = ""


class ProfileList(BaseModel):
    agent_id: str
    items: list[ProfileOut]


class CurvePointOut(BaseModel):
    day: str = Field(description="UTC day, YYYY-MM-DD.")
    executions: int
    successes: int
    success_rate: float
    mean_quality: float


class CurveOut(BaseModel):
    agent_id: str
    task_type: str
    days: int
    points: list[CurvePointOut] = Field(description="One point per day with executions, oldest first.")


class BudgetWindowOut(BaseModel):
    window: str
    limit_cents: float
    spent_cents: float
    reserved_cents: float
    utilization: float
    resets_at: str = ""


class BudgetOut(BaseModel):
    role: str
    state: str
    windows: list[BudgetWindowOut]


class BudgetList(BaseModel):
    items: list[BudgetOut]


class SpendOut(BaseModel):
    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_cents: float


class SpendList(BaseModel):
    workspace_id: str
    since: str = Field(description="Calls settled from this time on are counted.")
    items: list[SpendOut] = Field(description="Per provider and model, the most spent first.")


class ApiTokenOut(BaseModel):
    id: str
    workspace_id: str
    user_id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None = None
    token: str | None = Field(default=None, description="The secret, shown only when the token is created.")


class ApiTokenList(BaseModel):
    items: list[ApiTokenOut]


class AuditOut(BaseModel):
    at: str
    actor: str
    action: str
    method: str
    path: str
    resource: str = ""
    result: str
    status: int
    workspace_id: str


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None = None


class EventOut(BaseModel):
    id: int = Field(description="The event's sequence number; resume after it.")
    task_id: str
    workspace_id: str
    state: str
    agent_id: str = ""
    detail: str = ""
    provider: str = ""
    model: str = ""
    execution_id: str = ""
    task_type: str = ""
    result: str = ""
    at: str = ""
    step: int = 0
    tool: str = ""
    input_tokens: int = Field(default=0, description="A done or failed task's: its execution's tokens and cost.")
    output_tokens: int = 0
    cost_cents: float = 0.0


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str = ""
    instance: str = ""
