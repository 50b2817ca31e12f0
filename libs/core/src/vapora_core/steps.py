"""What a transcript step says, as a plain dict: the one mapping of ``kg.v1.StepRecorded``'s content.

The knowledge-graph stores a step as a record and the api-gateway answers ``GET
/tasks/{id}/steps`` with it; both take the step's content (its latency, the model turn's usage,
text and requested calls, the tool step's call and result) from :func:`step_content` and add
their own identity fields (the record's ids and ``at_s``, the API's ``index`` and ISO ``at``).
"""

from __future__ import annotations

from typing import Any

from vapora.kg.v1 import kg_pb2


def call_content(c: kg_pb2.RequestedCall) -> dict[str, str]:
    """A requested call as a dict: ``id``, ``tool``, ``arguments_json``, ``error``."""
    return {"id": c.id, "tool": c.tool, "arguments_json": c.arguments_json, "error": c.error}


def step_content(s: kg_pb2.StepRecorded) -> dict[str, Any]:
    """Every field of ``s`` after its identity (ids, index, kind, time): from ``latency_ms`` to
    ``truncated``, in the message's order, with ``calls`` as a list of :func:`call_content`."""
    return {
        "latency_ms": s.latency_ms,
        "provider": s.provider,
        "model": s.model,
        "input_tokens": s.input_tokens,
        "output_tokens": s.output_tokens,
        "cost_cents": s.cost_cents,
        "finish_reason": s.finish_reason,
        "text": s.text,
        "calls": [call_content(c) for c in s.calls],
        "tool": s.tool,
        "call_id": s.call_id,
        "arguments_json": s.arguments_json,
        "result": s.result,
        "is_error": s.is_error,
        "error": s.error,
        "truncated": s.truncated,
    }
