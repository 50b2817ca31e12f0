import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vapora.common.v1 import common_pb2 as _common_pb2
from vapora.common.v1 import evidence_pb2 as _evidence_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Task(_message.Message):
    __slots__ = ("id", "workspace_id", "project_id", "title", "description", "task_type", "priority", "complexity", "labels", "submitted_by", "created_at", "workflow_run_id", "stage_id", "branch", "required_role")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    COMPLEXITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_ROLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    workspace_id: str
    project_id: str
    title: str
    description: str
    task_type: str
    priority: _common_pb2.Priority
    complexity: str
    labels: _containers.ScalarMap[str, str]
    submitted_by: str
    created_at: _timestamp_pb2.Timestamp
    workflow_run_id: str
    stage_id: str
    branch: str
    required_role: str
    def __init__(self, id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., task_type: _Optional[str] = ..., priority: _Optional[_Union[_common_pb2.Priority, str]] = ..., complexity: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., submitted_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., workflow_run_id: _Optional[str] = ..., stage_id: _Optional[str] = ..., branch: _Optional[str] = ..., required_role: _Optional[str] = ...) -> None: ...

class TaskSubmitted(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class TaskStatusChanged(_message.Message):
    __slots__ = ("task_id", "workspace_id", "state", "agent_id", "detail", "provider", "model", "execution_id", "task_type", "at", "result", "step", "tool", "verification", "artifacts", "input_tokens", "output_tokens", "cost_cents")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    workspace_id: str
    state: _common_pb2.TaskState
    agent_id: str
    detail: str
    provider: str
    model: str
    execution_id: str
    task_type: str
    at: _timestamp_pb2.Timestamp
    result: str
    step: int
    tool: str
    verification: _evidence_pb2.Verification
    artifacts: _evidence_pb2.Artifacts
    input_tokens: int
    output_tokens: int
    cost_cents: float
    def __init__(self, task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., state: _Optional[_Union[_common_pb2.TaskState, str]] = ..., agent_id: _Optional[str] = ..., detail: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., execution_id: _Optional[str] = ..., task_type: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., result: _Optional[str] = ..., step: _Optional[int] = ..., tool: _Optional[str] = ..., verification: _Optional[_Union[_evidence_pb2.Verification, _Mapping]] = ..., artifacts: _Optional[_Union[_evidence_pb2.Artifacts, _Mapping]] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_cents: _Optional[float] = ...) -> None: ...

class TaskCancelled(_message.Message):
    __slots__ = ("task_id", "workspace_id", "actor", "reason", "at")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    workspace_id: str
    actor: str
    reason: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FeedbackCorrection(_message.Message):
    __slots__ = ("task_id", "workspace_id", "execution_id", "success", "quality", "comment", "actor", "at")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    workspace_id: str
    execution_id: str
    success: bool
    quality: float
    comment: str
    actor: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., execution_id: _Optional[str] = ..., success: _Optional[bool] = ..., quality: _Optional[float] = ..., comment: _Optional[str] = ..., actor: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
