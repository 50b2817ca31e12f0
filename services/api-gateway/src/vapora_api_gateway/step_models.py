"""Response bodies of a task's transcript (``GET /tasks/{id}/steps``): its steps and how its run ended."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class StepCallOut(BaseModel):
    id: str
    tool: str
    arguments_json: str = ""
    error: str = ""


class StepOut(BaseModel):
    index: int
    kind: Literal["model", "tool"]
    at: str
    latency_ms: int
    provider: str = ""
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_cents: float = 0.0
    finish_reason: str = ""
    text: str = ""
    calls: list[StepCallOut] = Field(default_factory=list, description="Model steps: the tool calls asked for.")
    tool: str = ""
    call_id: str = ""
    arguments_json: str = ""
    result: str = ""
    is_error: bool = False
    error: str = ""
    truncated: bool = Field(default=False, description="Text, arguments or result cut (a marker says so).")


class RunSummaryOut(BaseModel):
    stop_reason: str
    steps: int
    tool_calls: int
    success: bool
    verified: bool
    cost_cents: float
    error: str = ""


class StepsPage(BaseModel):
    task_id: str
    execution_id: str
    run_id: str
    items: list[StepOut]
    next_page_token: str = ""
    summary: RunSummaryOut | None = Field(default=None, description="How the run ended; null while it runs.")
    execution_cost_cents: float = Field(description="LLM spend of the execution, every run of it.")
    task_cost_cents: float = Field(description="LLM spend of the task, every execution of it.")
