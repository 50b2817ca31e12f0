"""The loop end to end in one process, every part real (see loopstack.py): per provider wire format,
JSON and streamed, a scripted multi-step tool conversation whose transcript shows every call and
the final answer; and bad input from the model and from tools, each a clear error in the
transcript while the loop and every consumer go on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from loopstack import MODELS, README, Stack, StackFactory, stack_factory  # type: ignore[import-not-found]
from prometheus_client import REGISTRY

from vapora.kg.v1 import kg_pb2
from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.grpc import channel
from vapora_testing.fake_providers import Call, Turn


@pytest.fixture
async def make(tmp_path: Path, nats_url: str) -> AsyncIterator[StackFactory]:
    async for factory in stack_factory(tmp_path, nats_url):
        yield factory


def kinds(reply: kg_pb2.GetStepsResponse) -> list[str]:
    return [s.kind for s in reply.steps]


def tool_steps(reply: kg_pb2.GetStepsResponse) -> list[kg_pb2.StepRecorded]:
    return [s for s in reply.steps if s.kind == "tool"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
@pytest.mark.parametrize("provider", list(MODELS))
async def test_a_multi_step_tool_conversation_in_each_wire_format_is_recorded_step_by_step(
    make: StackFactory, provider: str, stream: bool
) -> None:
    """llm-router reads a provider as a stream when a cap binds the call (so it can stop it at its
    reservation) and as JSON otherwise: "json" is the runtime's Complete for an agent with no task
    cap and a role with no budget; "streamed" is StreamComplete with the default cap."""
    if stream:
        stack: Stack = await make(provider, stream=True)
    else:
        stack = await make(provider, limits="[limits]\nmax_cost_cents = 0", role="looper")
    stack.fake.turns[provider] = [
        Turn(text="Let me look around.", calls=(Call(name="workspace__list_files", arguments={"path": "."}),)),
        Turn(
            calls=(
                Call(name="workspace__read_file", arguments={"path": "README.md"}),
                Call(name="sysinfo__utc_now", arguments={}),
            )
        ),
        Turn(text="The README introduces the Vapora workspace for tests."),
    ]
    reply = await stack.run(f"t-{provider}-{stream}")

    e = reply.execution
    assert (e.stop_reason, e.success, e.verified, e.provider, e.model) == (
        "final_answer",
        True,
        False,  # a self-report: the task has no repository, and no test or verdict to check it
        provider,
        MODELS[provider],
    )
    assert e.verification.kind == "self_report"
    assert (e.steps, e.tool_calls, e.run_id) == (6, 3, reply.run_id)
    assert e.result == "The README introduces the Vapora workspace for tests."
    assert kinds(reply) == ["model", "tool", "model", "tool", "tool", "model"]
    first, listing, second, readme, clock, final = reply.steps
    assert [(c.tool, json.loads(c.arguments_json)) for c in first.calls] == [("workspace.list_files", {"path": "."})]
    assert first.text == "Let me look around." and first.provider == provider and first.input_tokens == 10
    assert listing.tool == "workspace.list_files" and "README.md" in listing.result and not listing.is_error
    assert [c.tool for c in second.calls] == ["workspace.read_file", "sysinfo.utc_now"]
    assert readme.tool == "workspace.read_file" and README.strip() in readme.result
    assert clock.tool == "sysinfo.utc_now" and clock.result.startswith("20")
    assert final.text == e.result and final.finish_reason == "stop"
    assert [s.index for s in reply.steps] == [1, 2, 3, 4, 5, 6]

    bodies = stack.fake.bodies[provider]
    assert len(bodies) == 3
    if provider == "gemini":
        action = ":streamGenerateContent?alt=sse" if stream else ":generateContent"
        assert all(path.endswith(action) for path in stack.fake.paths[provider]), stack.fake.paths[provider]
    else:
        assert [b.get("stream", provider == "ollama") for b in bodies] == [stream] * 3
    sent = [json.dumps(b) for b in bodies]
    assert "workspace__read_file" in sent[0] and "sysinfo__utc_now" in sent[0]  # the tools, as models name them
    assert "README.md" in sent[1]  # the listing went back to the model
    assert "Vapora workspace for tests" in sent[2]  # and the file it read
    if provider != "ollama":  # local models cost nothing
        assert e.cost_cents > 0
        linked = await stack.costs(f"t-{provider}-{stream}", lambda r: r.execution_cost_cents >= e.cost_cents - 1e-9)
        assert linked.execution_cost_cents == pytest.approx(e.cost_cents) == linked.task_cost_cents


async def test_bad_input_from_the_model_and_the_tools_ends_as_clear_errors_and_the_loop_goes_on(
    make: StackFactory,
) -> None:
    def counted(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    outcomes = [
        ("workspace.read_file", "malformed"),
        ("sysinfo.sleep", "timeout"),
        ("bulk.emit", "ok"),
        ("workspace.read_file", "tool_error"),
    ]
    before = [counted("vapora_runtime_tool_calls_total", tool=t, outcome=o) for t, o in outcomes]
    stops = counted("vapora_runtime_loop_stops_total", role="developer", reason="final_answer")
    stack = await make("anthropic")
    stack.fake.turns["anthropic"] = [
        Turn(calls=(Call(name="workspace__read_file", arguments="{not json"),)),
        Turn(calls=(Call(name="sysinfo__sleep", arguments={"seconds": 5}),)),
        Turn(calls=(Call(name="bulk__emit", arguments={"size": 10_000_000}),)),
        Turn(calls=(Call(name="workspace__read_file", arguments={"path": "../secret.txt"}),)),
        Turn(text="I could not do much: every tool failed."),
    ]
    reply = await stack.run("t-bad")
    assert (reply.execution.stop_reason, reply.execution.tool_calls) == ("final_answer", 4)
    malformed, hung, huge, escaped = tool_steps(reply)
    assert malformed.is_error and "malformed tool call" in malformed.error and "JSON" in malformed.error
    assert hung.is_error and hung.error.startswith("deadline_exceeded:"), hung.error
    assert not huge.is_error and huge.truncated
    # mcp-gateway cut the 10 MB to its 1 MiB limit, the runtime cut that again; its marker keeps the gateway's
    assert "[cut by agent-runtime: " in huge.result and "[truncated by mcp-gateway: the result had " in huge.result
    assert len(huge.result.encode()) < 4096 + 200  # the transcript keeps 4 KB
    assert escaped.is_error and "escapes the workspace root" in escaped.error
    assert "outside the root" not in escaped.result

    bodies = [json.dumps(b) for b in stack.fake.bodies["anthropic"]]
    assert "malformed tool call" in bodies[1]
    assert "deadline_exceeded" in bodies[2]
    assert "the first 16384 shown]" in bodies[3] and "[truncated by mcp-gateway: the result had " in bodies[3]
    assert len(bodies[3]) < 64_000  # the model got 16 KB of the 10 MB
    assert "escapes the workspace root" in bodies[4]

    after_calls = [counted("vapora_runtime_tool_calls_total", tool=t, outcome=o) for t, o in outcomes]
    assert [a - b for a, b in zip(after_calls, before, strict=True)] == [1, 1, 1, 1]
    assert counted("vapora_runtime_loop_stops_total", role="developer", reason="final_answer") == stops + 1

    stack.fake.turns["anthropic"] = [Turn(text="All good now.")]
    after = await stack.run("t-after-bad")  # every consumer still runs: runtime, kg steps, kg executions
    assert after.execution.success and kinds(after) == ["model"]


async def test_the_calls_of_a_run_reach_the_gateway_with_the_jobs_identity(make: StackFactory) -> None:
    stack = await make("openai")
    stack.fake.turns["openai"] = [
        Turn(calls=(Call(name="workspace__list_files", arguments={"path": "src"}),)),
        Turn(text="src has app.py"),
    ]
    await stack.run("t-identity")
    assert stack.runtime.settings.mcp_addr
    async with channel(stack.runtime.settings.mcp_addr) as ch:
        calls = await mcp_pb2_grpc.McpGatewayStub(ch).ListCalls(
            mcp_pb2.ListCallsRequest(workspace_id="ws-loop", task_id="t-identity")
        )
    assert [(c.server, c.tool, c.agent_id, c.outcome) for c in calls.calls] == [
        ("workspace", "list_files", "looper", "ok")
    ]
