"""Bodies of the routes about code: a project's repository (attach, show) and a task's diff."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    Tag,
    WithJsonSchema,
)

from vapora_api_gateway.bodies import Body

CHECK_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"
CheckName = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=CHECK_NAME_PATTERN)]
# Commands are split like a shell would (never run by one): one line, quotes balanced, so the
# schema allows exactly what splits. A check's command must hold at least one word.
_CHAR = r"[^\x00-\x1f\x7f]"  # any character but a control character
_QUOTED = rf"""\\{_CHAR}|'[^'\x00-\x1f\x7f]*'|"(?:[^"\\\x00-\x1f\x7f]|\\{_CHAR})*\""""
_PART = rf"""(?:[^'"\\\x00-\x1f\x7f]|{_QUOTED})"""
_WORD = rf"""(?:[^'"\\\s\x00-\x1f\x7f]|{_QUOTED})"""
COMMAND_PATTERN = rf"^{_PART}*$"
CHECK_PATTERN = rf"^\s*{_WORD}{_PART}*$"


def shaped(pattern: str, message: str) -> Any:
    """A check of ``pattern`` that fails with ``message`` (the JSON Schema states the pattern)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.search(value) is None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


COMMAND_RULE = "must be one line whose quotes are balanced (it is split like a shell would, never run by one)"
Command = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    shaped(CHECK_PATTERN, COMMAND_RULE + ", with at least one word"),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 2000, "pattern": CHECK_PATTERN}),
]
# a branch git accepts: name parts joined by single "." or "/", no part ending in ".lock"
BRANCH_PATTERN = r"^(?:(?!.*\.lock(?:/|$))[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)*)?$"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
_PORT = r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
_PATH = r"(?:/[^\s\x00-\x1f\x7f]*)?"
URL_PATTERN = (
    rf"^(?:(?:https?|git)://{_HOST}{_PORT}{_PATH}"
    rf"|ssh://(?:[A-Za-z0-9._-]+@)?{_HOST}{_PORT}{_PATH}"
    r"|file:///[^\s\x00-\x1f\x7f]*)$"
)


# the whole dictionary as the schema says it: every key a check name (pydantic alone would say
# patternProperties, which leaves other keys open)
CHECKS_SCHEMA = {
    "type": "object",
    "maxProperties": 32,
    "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": CHECK_NAME_PATTERN},
    "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": CHECK_PATTERN},
}


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be attached, or None."""
    if re.search(URL_PATTERN, url):
        return None
    authority = url.partition("://")[2].split("/", 1)[0]
    if "@" in authority and (not url.startswith("ssh://") or ":" in authority.rpartition("@")[0]):
        return "must not carry a password (or, but for ssh, a user): credentials come from the server's settings"
    return "must be an https, http, git, ssh or file:/// URL with a host, on one line"


def _url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


class _RepositoryIn(Body):
    test_command: Annotated[str, shaped(COMMAND_PATTERN, COMMAND_RULE)] = Field(
        default="",
        max_length=2000,
        json_schema_extra={"pattern": COMMAND_PATTERN},
        description="The project's test command (split like a shell would); empty: the runner's default.",
    )
    checks: Annotated[dict[CheckName, Command], WithJsonSchema(CHECKS_SCHEMA)] = Field(
        default_factory=dict, max_length=32, description="Named checks agents may run (lint, typecheck, ...)."
    )
    default_branch: Annotated[str, shaped(BRANCH_PATTERN, "must be a branch name git accepts")] = Field(
        default="",
        max_length=200,
        json_schema_extra={"pattern": BRANCH_PATTERN},
        description="The branch jobs start from; empty: the repository's HEAD branch.",
    )


class LocalRepositoryIn(_RepositoryIn):
    """An existing repository on the gateway's machine, used in place."""

    kind: Literal["local"] = Field(json_schema_extra={"enum": ["local"]})  # enum too: OpenAPI 3.0 tools lack const
    path: Annotated[str, shaped(r"^/[^\x00]", "must be an absolute path on the gateway's machine")] = Field(
        min_length=2,
        max_length=4096,
        json_schema_extra={"pattern": r"^/[^\x00]*$"},
        description="The absolute path of the repository's top.",
    )


class BareRepositoryIn(_RepositoryIn):
    """An empty repository Vapora makes under its data directory."""

    kind: Literal["bare"] = Field(json_schema_extra={"enum": ["bare"]})  # enum too: OpenAPI 3.0 tools lack const


class RemoteRepositoryIn(_RepositoryIn):
    """A repository Vapora clones; credentials come from the server's settings, never the URL."""

    kind: Literal["remote"] = Field(json_schema_extra={"enum": ["remote"]})  # enum too: OpenAPI 3.0 tools lack const
    url: Annotated[str, AfterValidator(_url)] = Field(
        max_length=2000,
        json_schema_extra={"pattern": URL_PATTERN},
        description="https, http, git, file or ssh URL (ssh may name a user; no URL carries a password).",
    )


def _kind(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


class RepositoryIn(
    RootModel[
        Annotated[
            Annotated[LocalRepositoryIn, Tag("local")]
            | Annotated[BareRepositoryIn, Tag("bare")]
            | Annotated[RemoteRepositoryIn, Tag("remote")],
            Discriminator(
                _kind,
                custom_error_type="kind",
                custom_error_message="kind must be 'local', 'bare' or 'remote'",
            ),
        ]
    ]
):
    """What to attach, by ``kind``."""


class RepositoryOut(BaseModel):
    project_id: str
    workspace_id: str
    kind: str
    path: str = Field(description="Where the repository is on the gateway's machine.")
    url: str = ""
    default_branch: str
    head: str = Field(description="The default branch's commit.")
    test_command: str = ""
    checks: dict[str, str] = Field(default_factory=dict)
    attached_at: str = ""
    attached_by: str = ""


class ArtifactsOut(BaseModel):
    commit: str = Field(description="The job's commit on branch; empty when it changed nothing.")
    branch: str = Field(description="vapora/<task-id>")
    base: str = Field(description="The commit the job started from.")
    start_branch: str = ""
    files_changed: list[str] = Field(default_factory=list)
    insertions: int = 0
    deletions: int = 0
    advanced: bool = False
    merge_commit: str = ""


class FindingOut(BaseModel):
    file: str
    line: int
    severity: str = ""
    message: str = ""
    located: bool = Field(description="The file exists in the reviewed tree and has that line.")


class VerificationOut(BaseModel):
    kind: Literal["tests", "review", "self_report", "none", ""] = Field(
        description="What the outcome rests on: the test command, a reviewer's verdict, the model's word, or nothing."
    )
    command: str = ""
    passed: bool = False
    exit_code: int = 0
    timed_out: bool = False
    counts_known: bool = False
    tests_passed: int = 0
    tests_failed: int = 0
    tests_errors: int = 0
    tests_skipped: int = 0
    base_passed: int = 0
    base_failed: int = 0
    newly_passing: list[str] = Field(default_factory=list)
    newly_failing: list[str] = Field(default_factory=list)
    output: str = Field(default="", description="The test run's output, truncated.")
    tested_commit: str = ""
    base: str = ""
    sandbox: str = ""
    duration_s: float = 0.0
    decision: str = Field(default="", description="review: approve or request_changes.")
    findings: list[FindingOut] = Field(default_factory=list)
    detail: str = ""
