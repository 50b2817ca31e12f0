import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from vapora.common.v1 import evidence_pb2 as _evidence_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Repository(_message.Message):
    __slots__ = ("workspace_id", "project_id", "kind", "path", "url", "default_branch", "test_command", "checks", "head", "attached_at", "attached_by")
    class ChecksEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_BRANCH_FIELD_NUMBER: _ClassVar[int]
    TEST_COMMAND_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    HEAD_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTACHED_BY_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    project_id: str
    kind: str
    path: str
    url: str
    default_branch: str
    test_command: str
    checks: _containers.ScalarMap[str, str]
    head: str
    attached_at: _timestamp_pb2.Timestamp
    attached_by: str
    def __init__(self, workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ..., kind: _Optional[str] = ..., path: _Optional[str] = ..., url: _Optional[str] = ..., default_branch: _Optional[str] = ..., test_command: _Optional[str] = ..., checks: _Optional[_Mapping[str, str]] = ..., head: _Optional[str] = ..., attached_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attached_by: _Optional[str] = ...) -> None: ...

class AttachRepositoryRequest(_message.Message):
    __slots__ = ("workspace_id", "project_id", "kind", "path", "url", "test_command", "checks", "default_branch", "actor")
    class ChecksEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    TEST_COMMAND_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_BRANCH_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    project_id: str
    kind: str
    path: str
    url: str
    test_command: str
    checks: _containers.ScalarMap[str, str]
    default_branch: str
    actor: str
    def __init__(self, workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ..., kind: _Optional[str] = ..., path: _Optional[str] = ..., url: _Optional[str] = ..., test_command: _Optional[str] = ..., checks: _Optional[_Mapping[str, str]] = ..., default_branch: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class GetRepositoryRequest(_message.Message):
    __slots__ = ("workspace_id", "project_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    project_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ...) -> None: ...

class PrepareWorktreeRequest(_message.Message):
    __slots__ = ("start_branch", "attempt", "run_id")
    START_BRANCH_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    start_branch: str
    attempt: int
    run_id: str
    def __init__(self, start_branch: _Optional[str] = ..., attempt: _Optional[int] = ..., run_id: _Optional[str] = ...) -> None: ...

class Worktree(_message.Message):
    __slots__ = ("workspace_id", "project_id", "task_id", "job_id", "path", "branch", "base", "start_branch", "reset")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    START_BRANCH_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    project_id: str
    task_id: str
    job_id: str
    path: str
    branch: str
    base: str
    start_branch: str
    reset: bool
    def __init__(self, workspace_id: _Optional[str] = ..., project_id: _Optional[str] = ..., task_id: _Optional[str] = ..., job_id: _Optional[str] = ..., path: _Optional[str] = ..., branch: _Optional[str] = ..., base: _Optional[str] = ..., start_branch: _Optional[str] = ..., reset: _Optional[bool] = ...) -> None: ...

class FinishWorktreeRequest(_message.Message):
    __slots__ = ("subject", "attempt", "run_id")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    subject: str
    attempt: int
    run_id: str
    def __init__(self, subject: _Optional[str] = ..., attempt: _Optional[int] = ..., run_id: _Optional[str] = ...) -> None: ...

class VerifyWorktreeRequest(_message.Message):
    __slots__ = ("kind", "findings")
    KIND_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    findings: _containers.RepeatedCompositeFieldContainer[_evidence_pb2.Finding]
    def __init__(self, kind: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[_evidence_pb2.Finding, _Mapping]]] = ...) -> None: ...

class ReleaseWorktreeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReleaseWorktreeResponse(_message.Message):
    __slots__ = ("removed", "path")
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    path: str
    def __init__(self, removed: _Optional[bool] = ..., path: _Optional[str] = ...) -> None: ...

class GetDiffRequest(_message.Message):
    __slots__ = ("workspace_id", "task_id")
    WORKSPACE_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    workspace_id: str
    task_id: str
    def __init__(self, workspace_id: _Optional[str] = ..., task_id: _Optional[str] = ...) -> None: ...

class Diff(_message.Message):
    __slots__ = ("task_id", "artifacts", "text", "truncated")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    artifacts: _evidence_pb2.Artifacts
    text: str
    truncated: bool
    def __init__(self, task_id: _Optional[str] = ..., artifacts: _Optional[_Union[_evidence_pb2.Artifacts, _Mapping]] = ..., text: _Optional[str] = ..., truncated: _Optional[bool] = ...) -> None: ...
