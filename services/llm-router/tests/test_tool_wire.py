"""A two-step tool conversation through the router over gRPC, per provider format, JSON and streamed.

Turn 1 the fake model calls two tools; the test answers them (one result an error); turn 2 the
model answers in text. The test asserts the exact bodies each fake provider received (tool
definitions, the assistant's calls, the results in that provider's shape) and the ToolCalls
the router returned.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tooling import PATH_SCHEMA, PROVIDERS, ask, request, user

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_testing.fake_providers import Call, FakeProviders, Turn

LISTING = "[FILE] README.md\n[DIR] src"


def expected_tools(provider: str) -> Any:
    described = [("list_files", "List a directory"), ("read_file", "Read a file")]
    if provider == "anthropic":
        return [{"name": n, "description": d, "input_schema": PATH_SCHEMA} for n, d in described]
    if provider in ("openai", "ollama"):
        return [
            {"type": "function", "function": {"name": n, "description": d, "parameters": PATH_SCHEMA}}
            for n, d in described
        ]
    return [
        {
            "functionDeclarations": [
                {"name": n, "description": d, "parametersJsonSchema": PATH_SCHEMA} for n, d in described
            ]
        }
    ]


def expected_follow_up(provider: str, ids: list[str]) -> list[dict[str, Any]]:
    """The conversation as the provider must receive it on turn 2."""
    a, b = ids
    if provider == "anthropic":
        return [
            {"role": "user", "content": "Look around"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": a, "name": "list_files", "input": {"path": "."}},
                    {"type": "tool_use", "id": b, "name": "read_file", "input": {"path": "README.md"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": a, "content": LISTING},
                    {"type": "tool_result", "tool_use_id": b, "content": "permission denied", "is_error": True},
                ],
            },
        ]
    if provider == "openai":
        return [
            {"role": "user", "content": "Look around"},
            {
                "role": "assistant",
                "content": "Let me look.",
                "tool_calls": [
                    {"id": a, "type": "function", "function": {"name": "list_files", "arguments": '{"path": "."}'}},
                    {
                        "id": b,
                        "type": "function",
                        "function": {"name": "read_file", "arguments": '{"path": "README.md"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": a, "content": LISTING},
            {"role": "tool", "tool_call_id": b, "content": "error: permission denied"},
        ]
    if provider == "gemini":
        return [
            {"role": "user", "parts": [{"text": "Look around"}]},
            {
                "role": "model",
                "parts": [
                    {"text": "Let me look."},
                    {"functionCall": {"name": "list_files", "args": {"path": "."}}, "thoughtSignature": "sig-1"},
                    {"functionCall": {"name": "read_file", "args": {"path": "README.md"}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "list_files", "response": {"output": LISTING}}},
                    {"functionResponse": {"name": "read_file", "response": {"error": "permission denied"}}},
                ],
            },
        ]
    return [
        {"role": "user", "content": "Look around"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {"function": {"name": "list_files", "arguments": {"path": "."}}},
                {"function": {"name": "read_file", "arguments": {"path": "README.md"}}},
            ],
        },
        {"role": "tool", "content": LISTING, "tool_name": "list_files"},
        {"role": "tool", "content": "error: permission denied", "tool_name": "read_file"},
    ]


def conversation(body: dict[str, Any], provider: str) -> Any:
    return body["contents"] if provider == "gemini" else body["messages"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_tool_conversation_goes_out_and_comes_back_in_the_providers_format(
    router_stub: llm_pb2_grpc.LlmRouterStub, fake: FakeProviders, provider: str, stream: bool
) -> None:
    fake.turns[provider] = [
        Turn(
            text="Let me look.",
            calls=(
                Call(name="list_files", arguments={"path": "."}),
                Call(name="read_file", arguments={"path": "README.md"}),
            ),
            input_tokens=40,
            output_tokens=12,
        ),
        Turn(text="The README is unreadable; src holds the code.", input_tokens=90, output_tokens=11),
    ]
    first = await ask(router_stub, request(provider, [user("Look around")]), stream=stream)

    assert first.finish_reason == "tool_calls"
    assert first.text == "Let me look."
    assert [(c.name, json.loads(c.arguments_json), c.error) for c in first.tool_calls] == [
        ("list_files", {"path": "."}, ""),
        ("read_file", {"path": "README.md"}, ""),
    ]
    ids = [c.id for c in first.tool_calls]
    if provider == "anthropic":
        assert ids == ["toolu_01_0", "toolu_01_1"]
    elif provider == "openai":
        assert ids == ["call_1_0", "call_1_1"]
    else:  # no ids in the format: stable ones made by the router
        assert all(i.startswith("vapora_") for i in ids) and len(set(ids)) == 2
    signatures = [c.provider_data for c in first.tool_calls]
    assert signatures == (["sig-1", ""] if provider == "gemini" else ["", ""])
    assert (first.input_tokens, first.output_tokens) == (40, 12)
    assert fake.bodies[provider][0]["tools"] == expected_tools(provider)

    results = [
        llm_pb2.ToolResult(tool_call_id=ids[0], content=LISTING),
        llm_pb2.ToolResult(tool_call_id=ids[1], content="permission denied", is_error=True),
    ]
    follow_up = [
        user("Look around"),
        llm_pb2.ChatMessage(role="assistant", content=first.text, tool_calls=first.tool_calls),
        llm_pb2.ChatMessage(role="tool", tool_results=results),
    ]
    second = await ask(router_stub, request(provider, follow_up), stream=stream)

    assert second.text == "The README is unreadable; src holds the code."
    assert second.finish_reason == "stop" and not second.tool_calls
    assert (second.input_tokens, second.output_tokens) == (90, 11)
    assert second.provider == provider and not second.unverified
    body = fake.bodies[provider][1]
    assert conversation(body, provider) == expected_follow_up(provider, ids)
    assert body["tools"] == expected_tools(provider)
    assert fake.hits[provider] == 2


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_answer_cut_at_max_tokens_finishes_with_length(
    router_stub: llm_pb2_grpc.LlmRouterStub, fake: FakeProviders, provider: str, stream: bool
) -> None:
    fake.turns[provider] = [Turn(text="A long answer that stops", truncated=True, output_tokens=200)]
    reply = await ask(router_stub, request(provider, [user("Write a lot")]), stream=stream)
    assert reply.finish_reason == "length"
    assert reply.text == "A long answer that stops"
    assert reply.output_tokens == 200


@pytest.mark.parametrize("provider", ["gemini", "ollama"])
async def test_an_id_the_provider_gives_goes_back_to_it_where_the_format_has_none(
    router_stub: llm_pb2_grpc.LlmRouterStub, fake: FakeProviders, provider: str
) -> None:
    fake.turns[provider] = [
        Turn(calls=(Call(name="list_files", arguments={"path": "src"}, id="fc-7"),)),
        Turn(text="ok"),
    ]
    first = await ask(router_stub, request(provider, [user("Look")]), stream=False)
    assert [c.id for c in first.tool_calls] == ["fc-7"]
    result = llm_pb2.ToolResult(tool_call_id="fc-7", content="a.py")
    follow_up = [
        user("Look"),
        llm_pb2.ChatMessage(role="assistant", tool_calls=first.tool_calls),
        llm_pb2.ChatMessage(role="tool", tool_results=[result]),
    ]
    await ask(router_stub, request(provider, follow_up), stream=False)
    sent = conversation(fake.bodies[provider][1], provider)
    if provider == "gemini":
        assert sent[1]["parts"][0]["functionCall"]["id"] == "fc-7"
        assert sent[2]["parts"][0]["functionResponse"]["id"] == "fc-7"
    else:
        assert sent[1]["tool_calls"][0]["id"] == "fc-7"
        assert sent[2]["tool_call_id"] == "fc-7"
