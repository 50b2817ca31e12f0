"""Plain data of the gateway: tools, call contexts, results and call-log records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vapora_core.jobtoken import JobClaims


@dataclass(frozen=True, slots=True)
class ToolInfo:
    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})

    @property
    def scoped_name(self) -> str:
        return f"{self.server}.{self.name}"


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who is calling, as its verified job token says, and how the call came in."""

    claims: JobClaims
    via: str = "grpc"

    @property
    def workspace_id(self) -> str:
        return self.claims.workspace_id

    @property
    def agent_id(self) -> str:
        return self.claims.agent_id

    @property
    def task_id(self) -> str:
        return self.claims.task_id

    @property
    def job_id(self) -> str:
        return self.claims.job_id


@dataclass(frozen=True, slots=True)
class CallResult:
    is_error: bool
    text: str
    structured_json: str = ""
    latency_ms: int = 0
    call_id: str = ""
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class CallRecord:
    id: str
    server: str
    tool: str
    workspace_id: str
    agent_id: str
    task_id: str
    is_error: bool
    latency_ms: int
    at: datetime
    outcome: str
    via: str
    error: str = ""
    job_id: str = ""
