import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vapora.common.v1 import evidence_pb2 as _evidence_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExecutionRecorded(_message.Message):
    __slots__ = ("execution_id", "job_id", "task_id", "workspace_id", "project_id", "agent_id", "role", "task_type", "success", "quality", "latency_ms", "input_tokens", "output_tokens", "cost_cents", "provider", "model", "started_at", "finished_at", "error", "result", "attempt", "run_id", "steps", "tool_calls", "stop_reason", "verified", "verification", "artifacts")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    job_id: str
    task_id: str
    workspace_id: str
    project_id: str
    agent_id: str
    role: str
    task_type: str
    success: bool
    quality: float
    latency_ms: int
    input_tokens: int
    output_tokens: int
    cost_cents: float
    provider: str
    model: str
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    error: str
    result: str
    attempt: int
    run_id: str
    steps: int
    tool_calls: int
    stop_reason: str
    verified: bool
    verification: _evidence_pb2.Verification
    artifacts: _evidence_pb2.Artifacts
    def __init__(self, execution_id: _Optional[str] = ..., job_id: _Optional[str] = ..., task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., role: _Optional[str] = ..., task_type: _Optional[str] = ..., success: _Optional[bool] = ..., quality: _Optional[float] = ..., latency_ms: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_cents: _Optional[float] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ..., result: _Optional[str] = ..., attempt: _Optional[int] = ..., run_id: _Optional[str] = ..., steps: _Optional[int] = ..., tool_calls: _Optional[int] = ..., stop_reason: _Optional[str] = ..., verified: _Optional[bool] = ..., verification: _Optional[_Union[_evidence_pb2.Verification, _Mapping]] = ..., artifacts: _Optional[_Union[_evidence_pb2.Artifacts, _Mapping]] = ...) -> None: ...

class RequestedCall(_message.Message):
    __slots__ = ("id", "tool", "arguments_json", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    tool: str
    arguments_json: str
    error: str
    def __init__(self, id: _Optional[str] = ..., tool: _Optional[str] = ..., arguments_json: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class StepRecorded(_message.Message):
    __slots__ = ("execution_id", "run_id", "job_id", "task_id", "workspace_id", "agent_id", "task_type", "index", "kind", "at", "latency_ms", "provider", "model", "input_tokens", "output_tokens", "cost_cents", "finish_reason", "text", "calls", "tool", "call_id", "arguments_json", "result", "is_error", "error", "truncated")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    IS_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    run_id: str
    job_id: str
    task_id: str
    workspace_id: str
    agent_id: str
    task_type: str
    index: int
    kind: str
    at: _timestamp_pb2.Timestamp
    latency_ms: int
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_cents: float
    finish_reason: str
    text: str
    calls: _containers.RepeatedCompositeFieldContainer[RequestedCall]
    tool: str
    call_id: str
    arguments_json: str
    result: str
    is_error: bool
    error: str
    truncated: bool
    def __init__(self, execution_id: _Optional[str] = ..., run_id: _Optional[str] = ..., job_id: _Optional[str] = ..., task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., task_type: _Optional[str] = ..., index: _Optional[int] = ..., kind: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., latency_ms: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_cents: _Optional[float] = ..., finish_reason: _Optional[str] = ..., text: _Optional[str] = ..., calls: _Optional[_Iterable[_Union[RequestedCall, _Mapping]]] = ..., tool: _Optional[str] = ..., call_id: _Optional[str] = ..., arguments_json: _Optional[str] = ..., result: _Optional[str] = ..., is_error: _Optional[bool] = ..., error: _Optional[str] = ..., truncated: _Optional[bool] = ...) -> None: ...

class LearningProfile(_message.Message):
    __slots__ = ("agent_id", "task_type", "expertise", "confidence", "executions", "successes", "success_rate", "mean_quality", "mean_latency_ms", "mean_cost_cents", "updated_at", "recent_successes", "recent_failures", "workspace_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPERTISE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    MEAN_QUALITY_FIELD_NUMBER: _ClassVar[int]
    MEAN_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    MEAN_COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RECENT_SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    RECENT_FAILURES_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    task_type: str
    expertise: float
    confidence: float
    executions: int
    successes: int
    success_rate: float
    mean_quality: float
    mean_latency_ms: float
    mean_cost_cents: float
    updated_at: _timestamp_pb2.Timestamp
    recent_successes: float
    recent_failures: float
    workspace_id: str
    def __init__(self, agent_id: _Optional[str] = ..., task_type: _Optional[str] = ..., expertise: _Optional[float] = ..., confidence: _Optional[float] = ..., executions: _Optional[int] = ..., successes: _Optional[int] = ..., success_rate: _Optional[float] = ..., mean_quality: _Optional[float] = ..., mean_latency_ms: _Optional[float] = ..., mean_cost_cents: _Optional[float] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., recent_successes: _Optional[float] = ..., recent_failures: _Optional[float] = ..., workspace_id: _Optional[str] = ...) -> None: ...

class ProfilesChanged(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[LearningProfile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[LearningProfile, _Mapping]]] = ...) -> None: ...

class GetLearningProfileRequest(_message.Message):
    __slots__ = ("agent_id", "task_type", "workspace_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    task_type: str
    workspace_id: str
    def __init__(self, agent_id: _Optional[str] = ..., task_type: _Optional[str] = ..., workspace_id: _Optional[str] = ...) -> None: ...

class GetLearningProfilesRequest(_message.Message):
    __slots__ = ("agent_ids", "task_type", "workspace_id")
    AGENT_IDS_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    agent_ids: _containers.RepeatedScalarFieldContainer[str]
    task_type: str
    workspace_id: str
    def __init__(self, agent_ids: _Optional[_Iterable[str]] = ..., task_type: _Optional[str] = ..., workspace_id: _Optional[str] = ...) -> None: ...

class GetLearningProfilesResponse(_message.Message):
    __slots__ = ("profiles",)
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    profiles: _containers.RepeatedCompositeFieldContainer[LearningProfile]
    def __init__(self, profiles: _Optional[_Iterable[_Union[LearningProfile, _Mapping]]] = ...) -> None: ...

class CurvePoint(_message.Message):
    __slots__ = ("day", "executions", "successes", "success_rate", "mean_quality")
    DAY_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    MEAN_QUALITY_FIELD_NUMBER: _ClassVar[int]
    day: str
    executions: int
    successes: int
    success_rate: float
    mean_quality: float
    def __init__(self, day: _Optional[str] = ..., executions: _Optional[int] = ..., successes: _Optional[int] = ..., success_rate: _Optional[float] = ..., mean_quality: _Optional[float] = ...) -> None: ...

class GetLearningCurveRequest(_message.Message):
    __slots__ = ("agent_id", "task_type", "days", "workspace_id")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    task_type: str
    days: int
    workspace_id: str
    def __init__(self, agent_id: _Optional[str] = ..., task_type: _Optional[str] = ..., days: _Optional[int] = ..., workspace_id: _Optional[str] = ...) -> None: ...

class GetLearningCurveResponse(_message.Message):
    __slots__ = ("points",)
    POINTS_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[CurvePoint]
    def __init__(self, points: _Optional[_Iterable[_Union[CurvePoint, _Mapping]]] = ...) -> None: ...

class QueryExecutionsRequest(_message.Message):
    __slots__ = ("workspace_id", "agent_id", "task_type", "since", "until", "limit", "task_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    agent_id: str
    task_type: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    limit: int
    task_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., task_type: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ..., task_id: _Optional[str] = ...) -> None: ...

class QueryExecutionsResponse(_message.Message):
    __slots__ = ("executions",)
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    executions: _containers.RepeatedCompositeFieldContainer[ExecutionRecorded]
    def __init__(self, executions: _Optional[_Iterable[_Union[ExecutionRecorded, _Mapping]]] = ...) -> None: ...

class GetStepsRequest(_message.Message):
    __slots__ = ("workspace_id", "task_id", "execution_id", "page_token", "page_size")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    task_id: str
    execution_id: str
    page_token: str
    page_size: int
    def __init__(self, workspace_id: _Optional[str] = ..., task_id: _Optional[str] = ..., execution_id: _Optional[str] = ..., page_token: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class GetStepsResponse(_message.Message):
    __slots__ = ("steps", "next_page_token", "execution_id", "run_id", "execution", "execution_cost_cents", "task_cost_cents")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    TASK_COST_CENTS_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedCompositeFieldContainer[StepRecorded]
    next_page_token: str
    execution_id: str
    run_id: str
    execution: ExecutionRecorded
    execution_cost_cents: float
    task_cost_cents: float
    def __init__(self, steps: _Optional[_Iterable[_Union[StepRecorded, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., execution_id: _Optional[str] = ..., run_id: _Optional[str] = ..., execution: _Optional[_Union[ExecutionRecorded, _Mapping]] = ..., execution_cost_cents: _Optional[float] = ..., task_cost_cents: _Optional[float] = ...) -> None: ...
