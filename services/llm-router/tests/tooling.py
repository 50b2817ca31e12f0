"""What the tool-calling tests share: tools, requests, and one call of Complete or StreamComplete."""

from __future__ import annotations

import json
from typing import Any

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc

PROVIDERS = ["anthropic", "openai", "gemini", "ollama"]
MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-4o", "gemini": "gemini-2.0-flash", "ollama": "llama3.1"}
PATH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"path": {"type": "string", "description": "relative to the worktree"}},
    "required": ["path"],
}
TOOLS = [
    llm_pb2.ToolDefinition(name="list_files", description="List a directory", parameters_json=json.dumps(PATH_SCHEMA)),
    llm_pb2.ToolDefinition(name="read_file", description="Read a file", parameters_json=json.dumps(PATH_SCHEMA)),
]


def request(provider: str, messages: list[llm_pb2.ChatMessage], **kw: Any) -> llm_pb2.CompleteRequest:
    base: dict[str, Any] = {
        "request_id": "req-tools",
        "role": "developer",
        "task_type": "coding",
        "provider_override": provider,
        "model_override": MODELS[provider],
        "max_tokens": 200,
        "messages": messages,
        "tools": TOOLS,
    }
    base.update(kw)
    return llm_pb2.CompleteRequest(**base)


async def ask(
    stub: llm_pb2_grpc.LlmRouterStub, req: llm_pb2.CompleteRequest, *, stream: bool
) -> llm_pb2.CompleteResponse:
    """Complete, or StreamComplete with its deltas checked against the final text."""
    if not stream:
        reply: llm_pb2.CompleteResponse = await stub.Complete(req)
        return reply
    deltas: list[str] = []
    finals: list[llm_pb2.CompleteResponse] = []
    async for item in stub.StreamComplete(req):
        if item.HasField("final"):
            finals.append(item.final)
        else:
            deltas.append(item.delta)
    assert len(finals) == 1
    assert finals[0].text == "".join(deltas)
    return finals[0]


def user(text: str) -> llm_pb2.ChatMessage:
    return llm_pb2.ChatMessage(role="user", content=text)
