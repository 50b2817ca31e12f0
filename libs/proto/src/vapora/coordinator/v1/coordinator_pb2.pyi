import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vapora.tasks.v1 import tasks_pb2 as _tasks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WorkflowRunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKFLOW_RUN_STATE_UNSPECIFIED: _ClassVar[WorkflowRunState]
    WORKFLOW_RUN_STATE_RUNNING: _ClassVar[WorkflowRunState]
    WORKFLOW_RUN_STATE_WAITING_APPROVAL: _ClassVar[WorkflowRunState]
    WORKFLOW_RUN_STATE_PAUSED: _ClassVar[WorkflowRunState]
    WORKFLOW_RUN_STATE_SUCCEEDED: _ClassVar[WorkflowRunState]
    WORKFLOW_RUN_STATE_FAILED: _ClassVar[WorkflowRunState]
    WORKFLOW_RUN_STATE_CANCELLED: _ClassVar[WorkflowRunState]

class WorkflowStageState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WORKFLOW_STAGE_STATE_UNSPECIFIED: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_PENDING: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_READY: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_RUNNING: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_DONE: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_FAILED: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_WAITING_APPROVAL: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_APPROVED: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_REJECTED: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_CANCELLED: _ClassVar[WorkflowStageState]
    WORKFLOW_STAGE_STATE_SKIPPED: _ClassVar[WorkflowStageState]
WORKFLOW_RUN_STATE_UNSPECIFIED: WorkflowRunState
WORKFLOW_RUN_STATE_RUNNING: WorkflowRunState
WORKFLOW_RUN_STATE_WAITING_APPROVAL: WorkflowRunState
WORKFLOW_RUN_STATE_PAUSED: WorkflowRunState
WORKFLOW_RUN_STATE_SUCCEEDED: WorkflowRunState
WORKFLOW_RUN_STATE_FAILED: WorkflowRunState
WORKFLOW_RUN_STATE_CANCELLED: WorkflowRunState
WORKFLOW_STAGE_STATE_UNSPECIFIED: WorkflowStageState
WORKFLOW_STAGE_STATE_PENDING: WorkflowStageState
WORKFLOW_STAGE_STATE_READY: WorkflowStageState
WORKFLOW_STAGE_STATE_RUNNING: WorkflowStageState
WORKFLOW_STAGE_STATE_DONE: WorkflowStageState
WORKFLOW_STAGE_STATE_FAILED: WorkflowStageState
WORKFLOW_STAGE_STATE_WAITING_APPROVAL: WorkflowStageState
WORKFLOW_STAGE_STATE_APPROVED: WorkflowStageState
WORKFLOW_STAGE_STATE_REJECTED: WorkflowStageState
WORKFLOW_STAGE_STATE_CANCELLED: WorkflowStageState
WORKFLOW_STAGE_STATE_SKIPPED: WorkflowStageState

class ScoreBreakdown(_message.Message):
    __slots__ = ("success_rate", "load", "load_score", "expertise", "confidence", "total", "learning_data", "draw", "alpha", "beta")
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    LOAD_SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPERTISE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    LEARNING_DATA_FIELD_NUMBER: _ClassVar[int]
    DRAW_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    success_rate: float
    load: float
    load_score: float
    expertise: float
    confidence: float
    total: float
    learning_data: bool
    draw: float
    alpha: float
    beta: float
    def __init__(self, success_rate: _Optional[float] = ..., load: _Optional[float] = ..., load_score: _Optional[float] = ..., expertise: _Optional[float] = ..., confidence: _Optional[float] = ..., total: _Optional[float] = ..., learning_data: _Optional[bool] = ..., draw: _Optional[float] = ..., alpha: _Optional[float] = ..., beta: _Optional[float] = ...) -> None: ...

class CandidateScore(_message.Message):
    __slots__ = ("agent_id", "score")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    score: ScoreBreakdown
    def __init__(self, agent_id: _Optional[str] = ..., score: _Optional[_Union[ScoreBreakdown, _Mapping]] = ...) -> None: ...

class JobAssigned(_message.Message):
    __slots__ = ("job_id", "task", "agent_id", "attempt", "assigned_at", "score", "token")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    task: _tasks_pb2.Task
    agent_id: str
    attempt: int
    assigned_at: _timestamp_pb2.Timestamp
    score: ScoreBreakdown
    token: str
    def __init__(self, job_id: _Optional[str] = ..., task: _Optional[_Union[_tasks_pb2.Task, _Mapping]] = ..., agent_id: _Optional[str] = ..., attempt: _Optional[int] = ..., assigned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., score: _Optional[_Union[ScoreBreakdown, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class JobStopped(_message.Message):
    __slots__ = ("job_id", "task_id", "workspace_id", "agent_id", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    task_id: str
    workspace_id: str
    agent_id: str
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("task_id", "workspace_id", "agent_id", "job_id", "task_type", "score", "candidates", "reason", "attempt", "assigned_at", "policy")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    workspace_id: str
    agent_id: str
    job_id: str
    task_type: str
    score: ScoreBreakdown
    candidates: _containers.RepeatedCompositeFieldContainer[CandidateScore]
    reason: str
    attempt: int
    assigned_at: _timestamp_pb2.Timestamp
    policy: str
    def __init__(self, task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., job_id: _Optional[str] = ..., task_type: _Optional[str] = ..., score: _Optional[_Union[ScoreBreakdown, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[CandidateScore, _Mapping]]] = ..., reason: _Optional[str] = ..., attempt: _Optional[int] = ..., assigned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., policy: _Optional[str] = ...) -> None: ...

class ExplainAssignmentRequest(_message.Message):
    __slots__ = ("task_id", "workspace_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    workspace_id: str
    def __init__(self, task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ...) -> None: ...

class WorkflowStage(_message.Message):
    __slots__ = ("id", "kind", "task_type", "role", "title", "description", "needs", "inputs", "retries", "timeout_s", "priority", "on_failure", "max_failure_rounds", "approvers", "on_reject", "max_rejections")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NEEDS_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    MAX_FAILURE_ROUNDS_FIELD_NUMBER: _ClassVar[int]
    APPROVERS_FIELD_NUMBER: _ClassVar[int]
    ON_REJECT_FIELD_NUMBER: _ClassVar[int]
    MAX_REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    task_type: str
    role: str
    title: str
    description: str
    needs: _containers.RepeatedScalarFieldContainer[str]
    inputs: _containers.RepeatedScalarFieldContainer[str]
    retries: int
    timeout_s: float
    priority: str
    on_failure: str
    max_failure_rounds: int
    approvers: _containers.RepeatedScalarFieldContainer[str]
    on_reject: str
    max_rejections: int
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., task_type: _Optional[str] = ..., role: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., needs: _Optional[_Iterable[str]] = ..., inputs: _Optional[_Iterable[str]] = ..., retries: _Optional[int] = ..., timeout_s: _Optional[float] = ..., priority: _Optional[str] = ..., on_failure: _Optional[str] = ..., max_failure_rounds: _Optional[int] = ..., approvers: _Optional[_Iterable[str]] = ..., on_reject: _Optional[str] = ..., max_rejections: _Optional[int] = ...) -> None: ...

class WorkflowTemplate(_message.Message):
    __slots__ = ("name", "description", "stages", "workspace_id", "created_by", "created_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    stages: _containers.RepeatedCompositeFieldContainer[WorkflowStage]
    workspace_id: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., stages: _Optional[_Iterable[_Union[WorkflowStage, _Mapping]]] = ..., workspace_id: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GateDecision(_message.Message):
    __slots__ = ("round", "approved", "actor", "role", "comment", "at")
    ROUND_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    round: int
    approved: bool
    actor: str
    role: str
    comment: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, round: _Optional[int] = ..., approved: _Optional[bool] = ..., actor: _Optional[str] = ..., role: _Optional[str] = ..., comment: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StageState(_message.Message):
    __slots__ = ("stage_id", "kind", "state", "attempt", "task_id", "agent_id", "task_type", "started_at", "finished_at", "success", "verified", "result", "verdict", "commit", "cost_cents", "execution_id", "input_comment", "detail", "rejections", "decisions")
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_COMMENT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    stage_id: str
    kind: str
    state: WorkflowStageState
    attempt: int
    task_id: str
    agent_id: str
    task_type: str
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    success: bool
    verified: bool
    result: str
    verdict: str
    commit: str
    cost_cents: float
    execution_id: str
    input_comment: str
    detail: str
    rejections: int
    decisions: _containers.RepeatedCompositeFieldContainer[GateDecision]
    def __init__(self, stage_id: _Optional[str] = ..., kind: _Optional[str] = ..., state: _Optional[_Union[WorkflowStageState, str]] = ..., attempt: _Optional[int] = ..., task_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., task_type: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., success: _Optional[bool] = ..., verified: _Optional[bool] = ..., result: _Optional[str] = ..., verdict: _Optional[str] = ..., commit: _Optional[str] = ..., cost_cents: _Optional[float] = ..., execution_id: _Optional[str] = ..., input_comment: _Optional[str] = ..., detail: _Optional[str] = ..., rejections: _Optional[int] = ..., decisions: _Optional[_Iterable[_Union[GateDecision, _Mapping]]] = ...) -> None: ...

class WorkflowRun(_message.Message):
    __slots__ = ("id", "workspace_id", "project_id", "workflow", "template", "title", "description", "state", "branch", "created_by", "created_at", "updated_at", "ended_at", "stages", "detail", "cost_cents", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    workspace_id: str
    project_id: str
    workflow: str
    template: WorkflowTemplate
    title: str
    description: str
    state: WorkflowRunState
    branch: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    stages: _containers.RepeatedCompositeFieldContainer[StageState]
    detail: str
    cost_cents: float
    version: int
    def __init__(self, id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ..., workflow: _Optional[str] = ..., template: _Optional[_Union[WorkflowTemplate, _Mapping]] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., state: _Optional[_Union[WorkflowRunState, str]] = ..., branch: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stages: _Optional[_Iterable[_Union[StageState, _Mapping]]] = ..., detail: _Optional[str] = ..., cost_cents: _Optional[float] = ..., version: _Optional[int] = ...) -> None: ...

class WorkflowRunChanged(_message.Message):
    __slots__ = ("run_id", "workspace_id", "workflow", "state", "stage", "at", "version", "detail", "title", "task_title", "task_priority", "project_id")
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TASK_TITLE_FIELD_NUMBER: _ClassVar[int]
    TASK_PRIORITY_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    workspace_id: str
    workflow: str
    state: WorkflowRunState
    stage: StageState
    at: _timestamp_pb2.Timestamp
    version: int
    detail: str
    title: str
    task_title: str
    task_priority: str
    project_id: str
    def __init__(self, run_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., workflow: _Optional[str] = ..., state: _Optional[_Union[WorkflowRunState, str]] = ..., stage: _Optional[_Union[StageState, _Mapping]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., detail: _Optional[str] = ..., title: _Optional[str] = ..., task_title: _Optional[str] = ..., task_priority: _Optional[str] = ..., project_id: _Optional[str] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ("workspace_id",)
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    def __init__(self, workspace_id: _Optional[str] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows",)
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[WorkflowTemplate]
    def __init__(self, workflows: _Optional[_Iterable[_Union[WorkflowTemplate, _Mapping]]] = ...) -> None: ...

class CreateWorkflowRequest(_message.Message):
    __slots__ = ("workspace_id", "workflow", "actor")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    workflow: WorkflowTemplate
    actor: str
    def __init__(self, workspace_id: _Optional[str] = ..., workflow: _Optional[_Union[WorkflowTemplate, _Mapping]] = ..., actor: _Optional[str] = ...) -> None: ...

class StartWorkflowRunRequest(_message.Message):
    __slots__ = ("workspace_id", "workflow", "title", "description", "project_id", "actor", "run_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    workflow: str
    title: str
    description: str
    project_id: str
    actor: str
    run_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., workflow: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., project_id: _Optional[str] = ..., actor: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class GetWorkflowRunRequest(_message.Message):
    __slots__ = ("workspace_id", "run_id", "workspace_ids")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_IDS_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    run_id: str
    workspace_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, workspace_id: _Optional[str] = ..., run_id: _Optional[str] = ..., workspace_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListWorkflowRunsRequest(_message.Message):
    __slots__ = ("workspace_id", "state", "page_size", "page_token")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    state: WorkflowRunState
    page_size: int
    page_token: str
    def __init__(self, workspace_id: _Optional[str] = ..., state: _Optional[_Union[WorkflowRunState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkflowRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[WorkflowRun]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[WorkflowRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WorkflowGateRequest(_message.Message):
    __slots__ = ("workspace_id", "run_id", "gate_id", "actor", "actor_role", "comment")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    GATE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ROLE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    run_id: str
    gate_id: str
    actor: str
    actor_role: str
    comment: str
    def __init__(self, workspace_id: _Optional[str] = ..., run_id: _Optional[str] = ..., gate_id: _Optional[str] = ..., actor: _Optional[str] = ..., actor_role: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class WorkflowRunControlRequest(_message.Message):
    __slots__ = ("workspace_id", "run_id", "actor", "reason")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    run_id: str
    actor: str
    reason: str
    def __init__(self, workspace_id: _Optional[str] = ..., run_id: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
