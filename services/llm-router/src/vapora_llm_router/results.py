"""What a routed call returns: the answer and the decision that produced it, with its reasons."""

from __future__ import annotations

from dataclasses import dataclass, field

from vapora_llm_router.providers.base import ToolCall


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    provider: str
    model: str
    reasons: tuple[str, ...]
    fallback_chain: tuple[str, ...]
    estimated_cost_cents: float


@dataclass(slots=True, kw_only=True)
class Result:
    text: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_cents: float
    latency_ms: int
    finish_reason: str
    decision: Decision
    failed_providers: list[str] = field(default_factory=list)
    tool_calls: tuple[ToolCall, ...] = ()
    unverified: bool = False
