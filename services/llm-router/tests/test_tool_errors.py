"""Malformed tool calls come back as ToolCall.error; bad tool definitions and conversations are refused."""

from __future__ import annotations

import json
import re

import grpc
import pytest
from tooling import PATH_SCHEMA, PROVIDERS, TOOLS, ask, request, user

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_llm_router.providers.base import ChatTurn, ToolDefinition
from vapora_llm_router.routing import RouteRequest, estimate_input_tokens
from vapora_testing.fake_providers import Call, FakeProviders, Turn

HAS_IDS = {"anthropic", "openai"}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_malformed_calls_come_back_with_an_error_and_a_usable_id(
    router_stub: llm_pb2_grpc.LlmRouterStub, fake: FakeProviders, provider: str, stream: bool
) -> None:
    calls = [
        Call(name="read_file", arguments='{"path": "README.md"'),  # cut short: not JSON
        Call(name="rm_rf", arguments={"path": "/"}),  # not one of the request's tools
        Call(name="list_files", arguments="[1, 2]"),  # JSON, but not an object
        Call(name="list_files", arguments={"path": "."}),  # fine
    ]
    if provider in HAS_IDS:
        calls.append(Call(name="list_files", arguments={"path": "src"}, id=None))  # no id
    fake.turns[provider] = [Turn(calls=tuple(calls))]
    reply = await ask(router_stub, request(provider, [user("Look")]), stream=stream)

    assert reply.finish_reason == "tool_calls"
    got = list(reply.tool_calls)
    assert len(got) == len(calls)
    assert "arguments are not valid JSON" in got[0].error
    assert got[0].arguments_json == '{"path": "README.md"'  # what the model sent, for it to see
    assert "unknown tool 'rm_rf'" in got[1].error and "list_files, read_file" in got[1].error
    assert json.loads(got[1].arguments_json) == {"path": "/"}
    assert "not a JSON object" in got[2].error
    assert got[3].error == "" and json.loads(got[3].arguments_json) == {"path": "."}
    if provider in HAS_IDS:
        assert got[4].error == "the call has no id"
        assert got[4].id.startswith("vapora_")
    ids = [c.id for c in got]
    assert all(ids) and len(set(ids)) == len(ids)

    # The loop answers every call (the malformed ones with their error) and the conversation goes on.
    fake.turns[provider] = [Turn(text="Sorry, retrying properly.")]
    results = [llm_pb2.ToolResult(tool_call_id=c.id, content=c.error or "ok", is_error=bool(c.error)) for c in got]
    follow_up = [
        user("Look"),
        llm_pb2.ChatMessage(role="assistant", tool_calls=got),
        llm_pb2.ChatMessage(role="tool", tool_results=results),
    ]
    again = await ask(router_stub, request(provider, follow_up), stream=stream)
    assert again.text == "Sorry, retrying properly."
    sent = json.dumps(fake.bodies[provider][-1])
    assert "arguments are not valid JSON" in sent


async def test_a_body_that_is_not_the_format_is_still_internal(
    router_stub: llm_pb2_grpc.LlmRouterStub, fake: FakeProviders
) -> None:
    fake.script["openai"] = ["malformed"]
    reply = await ask(router_stub, request("openai", [user("Look")]), stream=False)
    # Internal: not retried; the router falls back to the next provider of the chain.
    assert fake.hits["openai"] == 1
    assert reply.failed_providers == ["openai"] and reply.provider == "ollama"
    assert any("malformed response body" in r for r in reply.decision.reasons)


def tool(
    name: str = "read_file", description: str = "Read", parameters: str = json.dumps(PATH_SCHEMA)
) -> llm_pb2.ToolDefinition:
    return llm_pb2.ToolDefinition(name=name, description=description, parameters_json=parameters)


@pytest.mark.parametrize(
    ("tools", "field"),
    [
        ([tool(name="read file")], r"tools\[0\]\.name: 'read file' must match"),
        ([tool(name="x" * 65)], r"tools\[0\]\.name"),
        ([tool(name="")], r"tools\[0\]\.name"),
        ([tool(), tool()], r"tools\[1\] \(read_file\)\.name: defined twice"),
        ([tool(parameters="{not json")], r"tools\[0\] \(read_file\)\.parameters_json: not valid JSON"),
        ([tool(parameters="[]")], r"tools\[0\] \(read_file\)\.parameters_json: must be a JSON object"),
        ([tool(parameters='{"type": "string"}')], r"parameters_json: must be an object schema, got type 'string'"),
        ([tool(parameters=json.dumps({"type": "object", "x": "y" * 70000}))], r"parameters_json: \d+ characters"),
        ([tool(description="d" * 5000)], r"tools\[0\] \(read_file\)\.description: 5000 characters"),
        ([tool(name=f"t{i}") for i in range(129)], r"tools: 129 tools, at most 128"),
    ],
)
async def test_bad_tool_definitions_are_refused_naming_the_field(
    router_stub: llm_pb2_grpc.LlmRouterStub, fake: FakeProviders, tools: list[llm_pb2.ToolDefinition], field: str
) -> None:
    for rpc in (router_stub.Complete, router_stub.SelectProvider):
        with pytest.raises(grpc.RpcError) as info:
            await rpc(request("openai", [user("Look")], tools=tools))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert re.search(field, info.value.details() or ""), info.value.details()
    assert sum(fake.hits.values()) == 0


CALL = llm_pb2.ToolCall(id="c1", name="read_file", arguments_json='{"path": "a"}')


@pytest.mark.parametrize(
    ("messages", "tools", "field"),
    [
        (
            [user("x"), llm_pb2.ChatMessage(role="tool", tool_results=[llm_pb2.ToolResult(tool_call_id="c1")])],
            TOOLS,
            r"messages\[1\]: a tool message must follow an assistant turn that called tools",
        ),
        (
            [
                user("x"),
                llm_pb2.ChatMessage(role="assistant", tool_calls=[CALL]),
                llm_pb2.ChatMessage(role="tool", tool_results=[llm_pb2.ToolResult(tool_call_id="c9", content="?")]),
            ],
            TOOLS,
            r"messages\[2\]\.tool_results\[0\]\.tool_call_id: 'c9' answers no call of messages\[1\] \(c1\)",
        ),
        (
            [user("x"), llm_pb2.ChatMessage(role="assistant", tool_calls=[CALL, CALL])],
            TOOLS,
            r"messages\[1\]\.tool_calls\[1\]\.id: 'c1' is used twice",
        ),
        (
            [
                user("x"),
                llm_pb2.ChatMessage(
                    role="assistant",
                    tool_calls=[CALL, llm_pb2.ToolCall(id="c2", name="list_files", arguments_json="{}")],
                ),
                llm_pb2.ChatMessage(role="tool", tool_results=[llm_pb2.ToolResult(tool_call_id="c1", content="a")]),
            ],
            TOOLS,
            r"messages\[2\]\.tool_results: no result for call c2 of messages\[1\]",
        ),
        (
            [user("x"), llm_pb2.ChatMessage(role="assistant", tool_calls=[CALL]), user("and?")],
            TOOLS,
            r"messages\[2\]: the tool calls of messages\[1\] need a tool message first",
        ),
        (
            [
                user("x"),
                llm_pb2.ChatMessage(role="assistant", tool_calls=[CALL]),
                llm_pb2.ChatMessage(
                    role="tool", tool_results=[llm_pb2.ToolResult(tool_call_id="c1", name="list_files")]
                ),
            ],
            TOOLS,
            r"messages\[2\]\.tool_results\[0\]\.name: 'list_files', but call c1 is to 'read_file'",
        ),
        (
            [
                user("x"),
                llm_pb2.ChatMessage(
                    role="assistant", tool_calls=[llm_pb2.ToolCall(id="c1", name="read_file", arguments_json="{oops")]
                ),
            ],
            TOOLS,
            r"messages\[1\]\.tool_calls\[0\]\.arguments_json: not a JSON object",
        ),
        (
            [user("x"), llm_pb2.ChatMessage(role="user", content="y", tool_calls=[CALL])],
            TOOLS,
            r"messages\[1\]\.tool_calls: only an assistant turn calls tools, not user",
        ),
        (
            [
                user("x"),
                llm_pb2.ChatMessage(role="assistant", tool_calls=[CALL]),
                llm_pb2.ChatMessage(role="tool", tool_results=[llm_pb2.ToolResult(tool_call_id="c1")]),
            ],
            [],
            r"tools: the conversation has tool calls, so the request must define its tools",
        ),
        (
            [
                user("x"),
                llm_pb2.ChatMessage(role="assistant", tool_calls=[CALL]),
                llm_pb2.ChatMessage(role="tool", content="note", tool_results=[llm_pb2.ToolResult(tool_call_id="c1")]),
            ],
            TOOLS,
            r"messages\[2\]\.content: a tool message carries its results in tool_results",
        ),
    ],
)
async def test_a_conversation_whose_tool_messages_do_not_fit_is_refused_naming_the_field(
    router_stub: llm_pb2_grpc.LlmRouterStub,
    fake: FakeProviders,
    messages: list[llm_pb2.ChatMessage],
    tools: list[llm_pb2.ToolDefinition],
    field: str,
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        await router_stub.Complete(request("openai", messages, tools=tools))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert re.search(field, info.value.details() or ""), info.value.details()
    assert sum(fake.hits.values()) == 0


def test_tool_definitions_count_in_the_reservation_estimate() -> None:
    base = RouteRequest(messages=(ChatTurn("user", "look around"),))
    described = ToolDefinition(name="read_file", description="d" * 3000, parameters_json=json.dumps(PATH_SCHEMA))
    with_tools = RouteRequest(messages=base.messages, tools=(described,))
    chars = len("read_file") + 3000 + len(json.dumps(PATH_SCHEMA))
    assert estimate_input_tokens(with_tools) - estimate_input_tokens(base) >= chars // 4
