import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vapora.tasks.v1 import tasks_pb2 as _tasks_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ScoreBreakdown(_message.Message):
    __slots__ = ("success_rate", "load", "load_score", "expertise", "confidence", "total", "learning_data")
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    LOAD_SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPERTISE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    LEARNING_DATA_FIELD_NUMBER: _ClassVar[int]
    success_rate: float
    load: float
    load_score: float
    expertise: float
    confidence: float
    total: float
    learning_data: bool
    def __init__(self, success_rate: _Optional[float] = ..., load: _Optional[float] = ..., load_score: _Optional[float] = ..., expertise: _Optional[float] = ..., confidence: _Optional[float] = ..., total: _Optional[float] = ..., learning_data: _Optional[bool] = ...) -> None: ...

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
    __slots__ = ("task_id", "workspace_id", "agent_id", "job_id", "task_type", "score", "candidates", "reason", "attempt", "assigned_at")
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
    def __init__(self, task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., job_id: _Optional[str] = ..., task_type: _Optional[str] = ..., score: _Optional[_Union[ScoreBreakdown, _Mapping]] = ..., candidates: _Optional[_Iterable[_Union[CandidateScore, _Mapping]]] = ..., reason: _Optional[str] = ..., attempt: _Optional[int] = ..., assigned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExplainAssignmentRequest(_message.Message):
    __slots__ = ("task_id", "workspace_id")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    workspace_id: str
    def __init__(self, task_id: _Optional[str] = ..., workspace_id: _Optional[str] = ...) -> None: ...
