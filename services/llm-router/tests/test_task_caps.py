"""Issue 23: per-task cost and token caps the router enforces with its reservations.

A scripted model that keeps asking for more (one tool call a turn, the conversation growing as
the runtime's loop would grow it) runs into the task's cap: the call the cap cannot pay is
refused with BudgetExceeded(scope="task") and never reaches the provider, and the task's spend
stays within its cap plus one reservation.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
from budgeting import metric, only_paid_providers, req
from conftest import serving

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_core.errors import BudgetExceeded, InvalidArgument
from vapora_core.grpc import call
from vapora_llm_router.budget import BudgetLedger
from vapora_llm_router.providers.base import ChatTurn, ToolDefinition, ToolResult
from vapora_llm_router.results import Result
from vapora_llm_router.routing import RouteRequest
from vapora_llm_router.service import RouterService, UsageRecord
from vapora_testing.fake_providers import Call, FakeProviders, Turn

CAP = 1.0
SCHEMA = json.dumps({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]})
TOOLS = (ToolDefinition(name="read_file", description="Read a file", parameters_json=SCHEMA),)
FILE = "def parse(text):\n    return text.split()\n" * 12  # what each tool call reads back
MakeService = Callable[..., tuple[RouterService, list[UsageRecord]]]


def keeps_asking(fake: FakeProviders, turns: int = 60) -> None:
    """Every turn calls a tool again; the provider bills a growing prompt, as a real one would, and
    16 output tokens (never more than the router's floor, so the fake honours every max_tokens)."""
    fake.turns["anthropic"] = [
        Turn(
            calls=(Call(name="read_file", arguments={"path": f"src/m{i}.py"}),),
            input_tokens=300 + 60 * i,
            output_tokens=16,
        )
        for i in range(turns)
    ]


def turn_request(messages: tuple[ChatTurn, ...], **kw: object) -> RouteRequest:
    return req(**{"task_id": "t-7", "tools": TOOLS, "messages": messages, "max_tokens": 100, **kw})


def follow_up(messages: tuple[ChatTurn, ...], result: Result) -> tuple[ChatTurn, ...]:
    calls = result.tool_calls
    answers = tuple(ToolResult(tool_call_id=c.id, name=c.name, content=FILE) for c in calls)
    return (*messages, ChatTurn("assistant", result.text, tool_calls=calls), ChatTurn("tool", "", tool_results=answers))


def task_spend(records: list[UsageRecord], task_id: str = "t-7") -> float:
    return sum(r.cost_cents for r in records if r.request.task_id == task_id)


@pytest.fixture
def capped(make_service: MakeService, config_dir: Path, fake: FakeProviders) -> tuple[RouterService, list[UsageRecord]]:
    only_paid_providers(config_dir)
    keeps_asking(fake)
    return make_service(providers=("anthropic",))


async def test_a_loop_that_keeps_spending_ends_at_the_task_cost_cap(
    capped: tuple[RouterService, list[UsageRecord]], fake: FakeProviders
) -> None:
    svc, records = capped
    refusals = metric("vapora_llm_task_cap_refusals_total", limit="cost")
    messages: tuple[ChatTurn, ...] = (ChatTurn("user", "refactor the parser"),)
    reservations: list[float] = []
    refused: BudgetExceeded | None = None
    for _ in range(50):
        try:
            result = await svc.complete(turn_request(messages, task_cost_cap_cents=CAP))
        except BudgetExceeded as exc:
            refused = exc
            break
        assert result.tool_calls and result.tool_calls[0].name == "read_file"
        reservations.append(result.decision.estimated_cost_cents)
        messages = follow_up(messages, result)
    assert refused is not None, "50 calls and the cap never stopped the task"
    assert (refused.scope, refused.owner, refused.limit, refused.cap) == ("task", "t-7", "cost", CAP)
    assert refused.spent == pytest.approx(task_spend(records)) and refused.reserved == 0
    assert refused.spent + refused.needed > CAP  # the next call's floor did not fit
    assert "the cost cap of task t-7 (1¢) is reached" in str(refused)
    assert fake.hits["anthropic"] == len(reservations)  # the refused call never reached the provider
    assert task_spend(records) <= CAP + max(reservations)  # the promise
    assert task_spend(records) <= CAP  # a provider that bills what it sent never goes over
    assert svc.ledger.task_usage("t-7").spent_cents == pytest.approx(task_spend(records))
    assert metric("vapora_llm_task_cap_refusals_total", limit="cost") - refusals == 1


async def test_twenty_concurrent_calls_of_one_task_stay_within_its_cap(
    capped: tuple[RouterService, list[UsageRecord]], fake: FakeProviders
) -> None:
    svc, records = capped
    first = (ChatTurn("user", "refactor the parser"),)
    reservation = svc.select(turn_request(first, task_cost_cap_cents=CAP)).estimated_cost_cents

    async def one(i: int) -> str:
        await asyncio.sleep((i % 5) * 0.002)
        try:
            await svc.complete(turn_request(first, request_id=f"r{i}", task_cost_cap_cents=CAP))
        except BudgetExceeded as exc:
            assert exc.scope == "task"
            return "refused"
        return "answered"

    outcomes = await asyncio.gather(*(one(i) for i in range(20)))
    assert "refused" in outcomes and "answered" in outcomes
    usage = svc.ledger.task_usage("t-7")
    assert usage.reserved_cents == 0 and usage.reserved_tokens == 0
    assert usage.spent_cents == pytest.approx(task_spend(records))
    assert usage.spent_cents <= CAP + reservation
    assert fake.hits["anthropic"] == outcomes.count("answered")


async def test_a_token_cap_ends_the_task_and_cuts_max_tokens_on_the_way(
    capped: tuple[RouterService, list[UsageRecord]], fake: FakeProviders
) -> None:
    svc, records = capped
    cap = 2870  # the fifth call finds 49 tokens left for its answer, the sixth not its input
    messages: tuple[ChatTurn, ...] = (ChatTurn("user", "refactor the parser"),)
    with pytest.raises(BudgetExceeded) as info:
        for _ in range(50):
            result = await svc.complete(turn_request(messages, task_token_cap=cap))
            messages = follow_up(messages, result)
    assert (info.value.scope, info.value.limit, info.value.cap) == ("task", "tokens", cap)
    assert "the token cap of task t-7 (2870 tokens) is reached" in str(info.value)
    used = sum(r.input_tokens + r.output_tokens for r in records)
    assert svc.ledger.task_usage("t-7").spent_tokens == used <= cap
    sent = [b["max_tokens"] for b in fake.bodies["anthropic"]]
    assert sent == [100, 100, 100, 100, 49]  # the last call was cut to what the cap had left


async def test_a_task_cap_ends_the_call_instead_of_falling_back_to_a_free_provider(
    make_service: MakeService, fake: FakeProviders
) -> None:
    svc, _ = make_service(providers=("anthropic",))  # offline stays enabled, the last resort
    keeps_asking(fake)
    first = (ChatTurn("user", "refactor the parser"),)
    ok = await svc.complete(turn_request(first, role="nobody", task_cost_cap_cents=0.2))
    assert ok.provider == "anthropic"
    with pytest.raises(BudgetExceeded):
        await svc.complete(turn_request(first, role="nobody", task_cost_cap_cents=0.2))
    assert fake.hits["anthropic"] == 1


async def test_a_task_is_forgotten_some_time_after_its_last_call(
    make_service: MakeService, config_dir: Path, fake: FakeProviders
) -> None:
    (config_dir / "budget.toml").write_text("task_forget_after_s = 600\n")
    svc, _ = make_service(providers=("anthropic",))
    now = [1_000_000.0]
    config = svc.config
    svc.ledger = BudgetLedger(config.budget, clock=lambda: now[0])
    keeps_asking(fake)
    first = (ChatTurn("user", "refactor the parser"),)
    await svc.complete(turn_request(first, task_cost_cap_cents=CAP))
    spent = svc.ledger.task_usage("t-7").spent_cents
    assert spent > 0
    now[0] += 599
    await svc.complete(turn_request(first, task_id="t-8"))
    assert svc.ledger.task_usage("t-7").spent_cents == spent
    now[0] += 2
    await svc.complete(turn_request(first, task_id="t-8"))
    assert svc.ledger.task_usage("t-7").spent_cents == 0  # forgotten: its memory is freed


@pytest.mark.parametrize(
    ("caps", "field"),
    [
        ({"task_cost_cap_cents": float("nan")}, "task_cost_cap_cents"),
        ({"task_cost_cap_cents": -1.0}, "task_cost_cap_cents"),
        ({"task_token_cap": -5}, "task_token_cap"),
        ({"task_id": "", "task_token_cap": 100}, "task_id"),
    ],
)
async def test_bad_caps_are_refused_naming_the_field(
    make_service: MakeService, fake: FakeProviders, caps: dict[str, object], field: str
) -> None:
    svc, _ = make_service()
    with pytest.raises(InvalidArgument, match=field):
        await svc.complete(req(**{"task_id": "t-9", **caps}))
    assert sum(fake.hits.values()) == 0


@pytest.fixture
async def stub(
    capped: tuple[RouterService, list[UsageRecord]],
) -> AsyncIterator[tuple[str, llm_pb2_grpc.LlmRouterStub]]:
    async with serving(capped[0]) as served:
        yield served


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_over_grpc_the_cap_is_resource_exhausted_and_arrives_as_budget_exceeded(
    stub: tuple[str, llm_pb2_grpc.LlmRouterStub], stream: bool
) -> None:
    target, router = stub
    message = llm_pb2.ChatMessage(role="user", content="refactor the parser")
    tools = [
        llm_pb2.ToolDefinition(name=t.name, description=t.description, parameters_json=t.parameters_json) for t in TOOLS
    ]
    request = llm_pb2.CompleteRequest(
        request_id="g1",
        task_id="t-g",
        role="developer",
        task_type="coding",
        max_tokens=100,
        messages=[message],
        tools=tools,
        task_cost_cap_cents=0.2,
    )

    async def once() -> llm_pb2.CompleteResponse:
        if not stream:
            reply: llm_pb2.CompleteResponse = await router.Complete(request)
            return reply
        items = [item async for item in router.StreamComplete(request)]
        return items[-1].final

    first = await call(target, once, attempts=1)
    assert first.provider == "anthropic" and first.tool_calls
    with pytest.raises(grpc.RpcError) as raw:
        await once()
    assert raw.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "the cost cap of task t-g (0.2¢) is reached" in raw.value.details()
    with pytest.raises(BudgetExceeded) as typed:
        await call(target, once, attempts=1)
    assert (typed.value.scope, typed.value.owner, typed.value.limit, typed.value.cap) == ("task", "t-g", "cost", 0.2)
    assert typed.value.spent == pytest.approx(first.cost_cents)
