"""Plain data of the gateway: tools, call contexts, results and call-log records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
    """Who is calling: every call belongs to a workspace."""

    workspace_id: str
    agent_id: str = ""
    task_id: str = ""
    via: str = "grpc"


@dataclass(frozen=True, slots=True)
class CallResult:
    is_error: bool
    text: str
    structured_json: str = ""
    latency_ms: int = 0
    call_id: str = ""


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
