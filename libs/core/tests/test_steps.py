"""The one mapping of a transcript step's content: every field after the identity, as given."""

from __future__ import annotations

from vapora.kg.v1 import kg_pb2
from vapora_core.steps import step_content

IDENTITY = {
    "execution_id",
    "run_id",
    "job_id",
    "task_id",
    "workspace_id",
    "agent_id",
    "task_type",
    "index",
    "kind",
    "at",
}


def a_step() -> kg_pb2.StepRecorded:
    return kg_pb2.StepRecorded(
        execution_id="ex-1",
        run_id="ex-1.1",
        index=3,
        kind="model",
        latency_ms=812,
        provider="anthropic",
        model="claude-x",
        input_tokens=1200,
        output_tokens=340,
        cost_cents=1.75,
        finish_reason="tool_calls",
        text="reading the file",
        calls=[kg_pb2.RequestedCall(id="c1", tool="files.read", arguments_json='{"path": "a"}', error="")],
        tool="files.read",
        call_id="c1",
        arguments_json='{"path": "a"}',
        result="contents",
        is_error=True,
        error="boom",
        truncated=True,
    )


def test_the_content_is_every_field_of_the_message_but_its_identity() -> None:
    fields = {f.name for f in kg_pb2.StepRecorded.DESCRIPTOR.fields}
    assert set(step_content(a_step())) == fields - IDENTITY


def test_the_content_carries_each_value_as_the_step_gives_it() -> None:
    assert step_content(a_step()) == {
        "latency_ms": 812,
        "provider": "anthropic",
        "model": "claude-x",
        "input_tokens": 1200,
        "output_tokens": 340,
        "cost_cents": 1.75,
        "finish_reason": "tool_calls",
        "text": "reading the file",
        "calls": [{"id": "c1", "tool": "files.read", "arguments_json": '{"path": "a"}', "error": ""}],
        "tool": "files.read",
        "call_id": "c1",
        "arguments_json": '{"path": "a"}',
        "result": "contents",
        "is_error": True,
        "error": "boom",
        "truncated": True,
    }


def test_an_empty_step_maps_to_the_defaults() -> None:
    content = step_content(kg_pb2.StepRecorded())
    assert content["calls"] == [] and content["latency_ms"] == 0 and content["is_error"] is False
