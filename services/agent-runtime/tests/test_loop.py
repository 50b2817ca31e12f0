"""The tool loop's logic with scripted turns and tools: steps, results, limits, stops, cancels."""

from __future__ import annotations

import asyncio
import json

import pytest
from scripted import (  # type: ignore[import-not-found]
    RUN,
    RecordingSender,
    ScriptedGateway,
    ScriptedRouter,
    answer,
    base_request,
    call,
    toolbox,
    transcript,
)

from vapora.common.v1 import common_pb2
from vapora.llm.v1 import llm_pb2
from vapora.mcp.v1 import mcp_pb2
from vapora_agent_runtime.loop import Limits, StopReason, ToolLoop, canonical
from vapora_core import errors


def loop(
    router: ScriptedRouter,
    gateway: ScriptedGateway | None = None,
    sender: RecordingSender | None = None,
    *,
    hand_back: bool = True,
    result_limit: int = 16_384,
    **limits: float,
) -> ToolLoop:
    return ToolLoop(
        router,
        toolbox(gateway or ScriptedGateway(), limit=result_limit),
        transcript(sender or RecordingSender()),
        Limits(**limits),  # type: ignore[arg-type]
        token="tok",
        hand_back=hand_back,
    )


async def test_a_turn_without_tool_calls_is_the_final_answer_after_one_model_step() -> None:
    router, sender = ScriptedRouter([answer("All done.")]), RecordingSender()
    result = await loop(router, sender=sender).run(base_request())
    assert (result.stop_reason, result.text, result.turns, result.error) == (
        StopReason.FINAL_ANSWER,
        "All done.",
        1,
        "",
    )
    [step] = sender.steps()
    assert (step.kind, step.index, step.text, step.provider) == ("model", 1, "All done.", "anthropic")
    [progress] = sender.progress()
    assert (progress.state, progress.step, progress.tool) == (common_pb2.TASK_STATE_RUNNING, 1, "")


async def test_tool_calls_go_through_the_gateway_and_their_results_back_to_the_model() -> None:
    router = ScriptedRouter(
        [
            answer("Let me look.", call("workspace__read_file", {"path": "README.md"}, id="c1")),
            answer("The README says hi."),
        ]
    )
    gateway, sender = ScriptedGateway(), RecordingSender()
    result = await loop(router, gateway, sender).run(base_request())

    assert result.stop_reason == StopReason.FINAL_ANSWER and result.turns == 2
    [sent] = gateway.calls
    assert (sent.server, sent.tool, json.loads(sent.arguments_json)) == (
        "workspace",
        "read_file",
        {"path": "README.md"},
    )
    assert (sent.workspace_id, sent.agent_id, sent.task_id) == ("ws-1", "developer", "t-1")
    assert gateway.tokens == ["tok"] and router.tokens == ["tok", "tok"]
    first, second = router.requests
    assert [t.name for t in first.tools] == ["workspace__read_file", "workspace__list_files", "sysinfo__utc_now"]
    assert (first.request_id, second.request_id) == (f"{RUN.run_id}.1", f"{RUN.run_id}.3")
    assert first.task_cost_cap_cents == second.task_cost_cap_cents == 50
    assistant, tool = second.messages[1], second.messages[2]
    assert assistant.role == "assistant" and assistant.tool_calls[0].id == "c1"  # the call goes back unchanged
    assert tool.role == "tool" and tool.tool_results[0].tool_call_id == "c1"
    assert tool.tool_results[0].content.startswith("read_file says") and not tool.tool_results[0].is_error

    model1, tool_step, model2 = sender.steps()
    assert [s.index for s in sender.steps()] == [1, 2, 3]
    assert [(c.tool, c.id) for c in model1.calls] == [("workspace.read_file", "c1")]
    assert (tool_step.kind, tool_step.tool, tool_step.call_id, tool_step.is_error) == (
        "tool",
        "workspace.read_file",
        "c1",
        False,
    )
    assert model2.text == "The README says hi."
    assert [(p.step, p.tool) for p in sender.progress()] == [(1, ""), (2, "workspace.read_file"), (3, "")]
    assert [m for _, _, m in sender.sent if m] == [f"{RUN.run_id}.1", f"{RUN.run_id}.2", f"{RUN.run_id}.3"]


async def test_the_calls_of_one_turn_run_at_once() -> None:
    """Each tool waits for the other to start: run one after the other, they would never finish."""
    started = {"read_file": asyncio.Event(), "list_files": asyncio.Event()}

    def waits_for(other: str, me: str):  # type: ignore[no-untyped-def]
        async def handler(request: mcp_pb2.CallToolRequest) -> mcp_pb2.CallToolResponse:
            started[me].set()
            await asyncio.wait_for(started[other].wait(), 2)
            return mcp_pb2.CallToolResponse(text=f"{me} ok")

        return handler

    gateway = ScriptedGateway(
        handlers={
            "workspace.read_file": waits_for("list_files", "read_file"),
            "workspace.list_files": waits_for("read_file", "list_files"),
        }
    )
    router = ScriptedRouter(
        [
            answer("", call("workspace__read_file", {"path": "a"}), call("workspace__list_files", {"path": "."})),
            answer("ok"),
        ]
    )
    sender = RecordingSender()
    result = await loop(router, gateway, sender).run(base_request())
    assert result.stop_reason == StopReason.FINAL_ANSWER
    results = router.requests[1].messages[2].tool_results
    assert [r.content for r in results] == ["read_file ok", "list_files ok"]  # in the order of the calls
    assert sender.progress()[1].tool == "workspace.read_file, workspace.list_files"


async def test_a_model_that_never_stops_ends_at_the_step_cap_without_running_the_last_turns_calls() -> None:
    turns = [answer(f"step {i}", call("workspace__read_file", {"path": f"f{i}"})) for i in range(10)]
    router, gateway, sender = ScriptedRouter(turns), ScriptedGateway(), RecordingSender()  # type: ignore[arg-type]
    result = await loop(router, gateway, sender, max_steps=4).run(base_request())
    assert result.stop_reason == StopReason.MAX_STEPS and result.turns == 4
    assert "max_steps" in result.error and result.text == "step 3"
    assert len(gateway.calls) == 3  # the 4th turn's call is not run
    assert [s.kind for s in sender.steps()] == ["model", "tool"] * 3 + ["model"]


async def test_the_same_call_asked_for_loop_repeats_times_is_stopped_as_a_loop() -> None:
    router = ScriptedRouter([answer("", call("workspace__read_file", {"path": "a", "n": 1}))])
    gateway, sender = ScriptedGateway(), RecordingSender()
    result = await loop(router, gateway, sender, loop_repeats=3).run(base_request())
    assert result.stop_reason == StopReason.LOOP and result.turns == 3
    assert "workspace.read_file was asked for 3 times" in result.error
    assert len(gateway.calls) == 2


def test_loop_detection_compares_arguments_as_canonical_json() -> None:
    assert canonical(call("t", '{"a": 1, "b": [1, 2]}')) == canonical(call("t", '{"b":[1,2],"a":1}'))
    assert canonical(call("t", '{"a": 1}')) != canonical(call("t", '{"a": 2}'))
    assert canonical(call("t", "{not json")) == canonical(call("t", "{not json"))


async def test_the_wall_clock_limit_aborts_the_call_in_flight() -> None:
    aborted = asyncio.Event()

    async def hangs(request: llm_pb2.CompleteRequest) -> llm_pb2.CompleteResponse:
        try:
            await asyncio.Event().wait()
        finally:
            aborted.set()
        raise AssertionError("unreachable")

    router = ScriptedRouter([answer("", call("workspace__read_file", {"path": "a"})), hangs])
    sender = RecordingSender()
    result = await loop(router, sender=sender, max_wall_clock_s=0.3).run(base_request())
    assert result.stop_reason == StopReason.WALL_CLOCK and "0.3 s" in result.error
    assert aborted.is_set()
    assert [s.kind for s in sender.steps()] == ["model", "tool"]


async def test_a_malformed_call_and_a_tool_error_are_results_the_model_reads_and_the_loop_goes_on() -> None:
    async def deadline(request: mcp_pb2.CallToolRequest) -> mcp_pb2.CallToolResponse:
        raise errors.DeadlineExceeded("mcp-gateway: MCP server 'workspace' did not answer within 1 s")

    gateway = ScriptedGateway(handlers={"workspace.list_files": deadline})
    router = ScriptedRouter(
        [
            answer(
                "",
                call("workspace__read_file", "{not json", error="arguments are not a JSON object"),
                call("workspace__list_files", {"path": "."}),
                call("nope__tool", {}),
            ),
            answer("I could not read anything."),
        ]
    )
    sender = RecordingSender()
    result = await loop(router, gateway, sender).run(base_request())
    assert result.stop_reason == StopReason.FINAL_ANSWER
    malformed, timed_out, unknown = router.requests[1].messages[2].tool_results
    assert malformed.is_error and "malformed tool call: arguments are not a JSON object" in malformed.content
    assert timed_out.is_error and timed_out.content.startswith("error: deadline_exceeded: ")
    assert unknown.is_error and "no tool named 'nope__tool'" in unknown.content
    assert [c.tool for c in gateway.calls] == ["list_files"]  # only the well-formed, known call reached it
    tools = [s for s in sender.steps() if s.kind == "tool"]
    assert [(s.tool, s.is_error) for s in tools] == [
        ("workspace.read_file", True),
        ("workspace.list_files", True),
        ("nope__tool", True),
    ]
    assert "did not answer within 1 s" in tools[1].error


async def test_a_huge_result_is_cut_for_the_model_and_smaller_for_the_transcript() -> None:
    async def huge(request: mcp_pb2.CallToolRequest) -> mcp_pb2.CallToolResponse:
        return mcp_pb2.CallToolResponse(text="é" * 5_000_000)  # 10 MB of UTF-8

    gateway = ScriptedGateway(handlers={"workspace.read_file": huge})
    router = ScriptedRouter([answer("", call("workspace__read_file", {"path": "big"})), answer("too big to read")])
    sender = RecordingSender()
    result = await loop(router, gateway, sender, result_limit=16_384).run(base_request())
    assert result.stop_reason == StopReason.FINAL_ANSWER
    content = router.requests[1].messages[2].tool_results[0].content
    assert content.endswith("[cut by agent-runtime: 10000000 bytes, the first 16384 shown]")
    assert len(content.encode()) < 16_384 + 100
    [step] = [s for s in sender.steps() if s.kind == "tool"]
    assert step.truncated and len(step.result.encode()) < 4096 + 100 and "10000000 bytes" in step.result


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        (
            errors.BudgetExceeded(scope="task", owner="t-1", limit="cost", cap=10, spent=9.5, needed=1),
            StopReason.COST_CAP,
        ),
        (
            errors.BudgetExceeded(scope="task", owner="t-1", limit="tokens", cap=250, spent=240, needed=20),
            StopReason.TOKEN_CAP,
        ),
        (
            errors.BudgetExceeded(scope="role", owner="developer", limit="cost", cap=100, spent=100, window="weekly"),
            StopReason.COST_CAP,
        ),
        (errors.ResourceExhausted("llm-router: Received message larger than max"), StopReason.ERROR),
    ],
    ids=["task-cost", "task-tokens", "role-budget", "not-a-budget"],
)
async def test_a_budget_refusal_of_the_router_ends_the_run_at_the_cap_it_names(
    refusal: errors.VaporaError, reason: StopReason
) -> None:
    first = answer("", call("workspace__read_file", {"path": "a"}), cost=5.0, tokens=(100, 100))
    router = ScriptedRouter([first, refusal])
    result = await loop(router).run(base_request())
    assert result.stop_reason == reason
    assert result.error.startswith(f"{reason}: llm-router refused turn 2: {refusal.code}: ")
    assert result.cost_cents == 5.0 and result.turns == 1


async def test_a_retryable_router_failure_hands_the_job_back_unless_it_is_the_last_delivery() -> None:
    down = errors.Unavailable("llm-router: connection refused")
    with pytest.raises(errors.Unavailable):
        await loop(ScriptedRouter([down])).run(base_request())
    result = await loop(ScriptedRouter([down]), hand_back=False).run(base_request())
    assert result.stop_reason == StopReason.ERROR and "unavailable: llm-router: connection refused" in result.error
    refused = await loop(ScriptedRouter([errors.InvalidArgument("bad tools")])).run(base_request())
    assert refused.stop_reason == StopReason.ERROR and "invalid_argument: bad tools" in refused.error


async def test_a_cancel_aborts_the_tool_call_in_flight_and_the_run_goes_no_further() -> None:
    in_call, aborted = asyncio.Event(), asyncio.Event()

    async def slow(request: mcp_pb2.CallToolRequest) -> mcp_pb2.CallToolResponse:
        in_call.set()
        try:
            await asyncio.Event().wait()
        finally:
            aborted.set()
        raise AssertionError("unreachable")

    router = ScriptedRouter([answer("", call("workspace__read_file", {"path": "a"})), answer("never")])
    sender = RecordingSender()
    job = asyncio.create_task(
        loop(router, ScriptedGateway(handlers={"workspace.read_file": slow}), sender).run(base_request())
    )
    await asyncio.wait_for(in_call.wait(), 2)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert aborted.is_set()
    assert len(router.requests) == 1 and [s.kind for s in sender.steps()] == ["model"]
