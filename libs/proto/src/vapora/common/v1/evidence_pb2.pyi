from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Artifacts(_message.Message):
    __slots__ = ("commit", "branch", "base", "start_branch", "files_changed", "insertions", "deletions", "advanced", "merge_commit")
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    BRANCH_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    START_BRANCH_FIELD_NUMBER: _ClassVar[int]
    FILES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    INSERTIONS_FIELD_NUMBER: _ClassVar[int]
    DELETIONS_FIELD_NUMBER: _ClassVar[int]
    ADVANCED_FIELD_NUMBER: _ClassVar[int]
    MERGE_COMMIT_FIELD_NUMBER: _ClassVar[int]
    commit: str
    branch: str
    base: str
    start_branch: str
    files_changed: _containers.RepeatedScalarFieldContainer[str]
    insertions: int
    deletions: int
    advanced: bool
    merge_commit: str
    def __init__(self, commit: _Optional[str] = ..., branch: _Optional[str] = ..., base: _Optional[str] = ..., start_branch: _Optional[str] = ..., files_changed: _Optional[_Iterable[str]] = ..., insertions: _Optional[int] = ..., deletions: _Optional[int] = ..., advanced: _Optional[bool] = ..., merge_commit: _Optional[str] = ...) -> None: ...

class Finding(_message.Message):
    __slots__ = ("file", "line", "severity", "message", "located")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LOCATED_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    severity: str
    message: str
    located: bool
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ..., severity: _Optional[str] = ..., message: _Optional[str] = ..., located: _Optional[bool] = ...) -> None: ...

class Verification(_message.Message):
    __slots__ = ("kind", "command", "passed", "exit_code", "timed_out", "counts_known", "tests_passed", "tests_failed", "tests_errors", "tests_skipped", "base_passed", "base_failed", "newly_passing", "newly_failing", "output", "tested_commit", "base", "sandbox", "duration_s", "decision", "findings", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    COUNTS_KNOWN_FIELD_NUMBER: _ClassVar[int]
    TESTS_PASSED_FIELD_NUMBER: _ClassVar[int]
    TESTS_FAILED_FIELD_NUMBER: _ClassVar[int]
    TESTS_ERRORS_FIELD_NUMBER: _ClassVar[int]
    TESTS_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    BASE_PASSED_FIELD_NUMBER: _ClassVar[int]
    BASE_FAILED_FIELD_NUMBER: _ClassVar[int]
    NEWLY_PASSING_FIELD_NUMBER: _ClassVar[int]
    NEWLY_FAILING_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    TESTED_COMMIT_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    command: str
    passed: bool
    exit_code: int
    timed_out: bool
    counts_known: bool
    tests_passed: int
    tests_failed: int
    tests_errors: int
    tests_skipped: int
    base_passed: int
    base_failed: int
    newly_passing: _containers.RepeatedScalarFieldContainer[str]
    newly_failing: _containers.RepeatedScalarFieldContainer[str]
    output: str
    tested_commit: str
    base: str
    sandbox: str
    duration_s: float
    decision: str
    findings: _containers.RepeatedCompositeFieldContainer[Finding]
    detail: str
    def __init__(self, kind: _Optional[str] = ..., command: _Optional[str] = ..., passed: _Optional[bool] = ..., exit_code: _Optional[int] = ..., timed_out: _Optional[bool] = ..., counts_known: _Optional[bool] = ..., tests_passed: _Optional[int] = ..., tests_failed: _Optional[int] = ..., tests_errors: _Optional[int] = ..., tests_skipped: _Optional[int] = ..., base_passed: _Optional[int] = ..., base_failed: _Optional[int] = ..., newly_passing: _Optional[_Iterable[str]] = ..., newly_failing: _Optional[_Iterable[str]] = ..., output: _Optional[str] = ..., tested_commit: _Optional[str] = ..., base: _Optional[str] = ..., sandbox: _Optional[str] = ..., duration_s: _Optional[float] = ..., decision: _Optional[str] = ..., findings: _Optional[_Iterable[_Union[Finding, _Mapping]]] = ..., detail: _Optional[str] = ...) -> None: ...
