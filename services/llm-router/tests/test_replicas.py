"""Two llm-router processes on one nats-server share their budgets (JetStream KV).

Each router is ``python -m vapora_llm_router`` with its own embedded store (so its own usage
ledger) and its own NATS connection; the provider is the Anthropic fake on loopback, billing
exactly what each call reserved, so spend past the window shows at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from budgeting import OFFLINE_OFF
from conftest import PRICES, ROUTER

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_core.grpc import channel
from vapora_llm_router.providers.base import ChatTurn
from vapora_llm_router.routing import RouteRequest, estimate_input_tokens
from vapora_testing.fake_providers import KEY, FakeProviders
from vapora_testing.polling import eventually
from vapora_testing.process import ServiceProcess, service_env

PROMPT = "implement a parser"
MAX_TOKENS = 100
IN_CENTS, OUT_CENTS = 3.0 / 10_000, 15.0 / 10_000  # claude-sonnet-4-5's price in conftest's PRICES
INPUT_TOKENS = estimate_input_tokens(
    RouteRequest(request_id="r", role="developer", messages=(ChatTurn("user", PROMPT),), max_tokens=MAX_TOKENS)
)
RESERVATION = INPUT_TOKENS * IN_CENTS + MAX_TOKENS * OUT_CENTS  # what one call holds, and here bills


def config(tmp_path: Path, weekly_cents: float) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    (d / "router.toml").write_text(ROUTER + OFFLINE_OFF)  # no offline last resort: a refusal is a refusal
    (d / "budget.toml").write_text(f"[roles.developer]\nweekly_cents = {weekly_cents!r}\n")
    (d / "prices.toml").write_text(PRICES)
    return d


async def routers(
    tmp_path: Path, nats_url: str, fake: FakeProviders, weekly_cents: float, ttl_s: float
) -> list[ServiceProcess]:
    cfg = config(tmp_path, weekly_cents)
    out = []
    for name in ("a", "b"):
        env = service_env(
            nats_url,
            tmp_path / name,
            VAPORA_CONFIG_DIR=str(cfg),
            VAPORA_ANTHROPIC_API_KEY=KEY,
            VAPORA_ANTHROPIC_BASE_URL=fake.url,
            VAPORA_PROVIDER_TIMEOUT_S="60",
            VAPORA_RESERVATION_TTL_S=str(ttl_s),
            VAPORA_SHUTDOWN_GRACE_S="2",
        )
        out.append(ServiceProcess("vapora_llm_router", env, tmp_path / name, tmp_path / f"router-{name}.log"))
    await asyncio.gather(*(r.start(timeout=30) for r in out))
    return out


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    f = FakeProviders(input_tokens=INPUT_TOKENS, output_tokens=MAX_TOKENS, slow_s=12.0)
    await f.start()
    yield f
    await f.stop()


def request() -> llm_pb2.CompleteRequest:
    return llm_pb2.CompleteRequest(
        role="developer",
        workspace_id="ws",
        task_type="coding",
        max_tokens=MAX_TOKENS,
        messages=[llm_pb2.ChatMessage(role="user", content=PROMPT)],
    )


async def complete(stub: llm_pb2_grpc.LlmRouterStub) -> llm_pb2.CompleteResponse | grpc.StatusCode:
    try:
        return await stub.Complete(request())
    except grpc.aio.AioRpcError as exc:
        return exc.code()


async def weekly(stub: llm_pb2_grpc.LlmRouterStub) -> llm_pb2.BudgetWindow:
    status = await stub.GetBudgetStatus(llm_pb2.GetBudgetStatusRequest(role="developer"))
    return next(w for w in status.budgets[0].windows if w.window == "weekly")


async def test_two_routers_overshoot_a_shared_window_by_at_most_one_reservation(
    tmp_path: Path, nats_url: str, fake: FakeProviders
) -> None:
    limit = 40 * RESERVATION  # each router alone would let some 40 calls through: 80 in all
    a, b = await routers(tmp_path, nats_url, fake, limit, ttl_s=30.0)
    try:
        async with channel(a.addr, timeout=30) as ca, channel(b.addr, timeout=30) as cb:
            stubs = (llm_pb2_grpc.LlmRouterStub(ca), llm_pb2_grpc.LlmRouterStub(cb))
            got = await asyncio.gather(*(complete(stubs[i % 2]) for i in range(200)))
            answers = [g for g in got if isinstance(g, llm_pb2.CompleteResponse)]
            refusals = [g for g in got if isinstance(g, grpc.StatusCode)]
            spent = sum(r.cost_cents for r in answers)
            assert set(refusals) == {grpc.StatusCode.RESOURCE_EXHAUSTED}, refusals
            assert limit * 0.6 < spent <= limit + RESERVATION, (spent, limit, len(answers))
            assert fake.hits["anthropic"] == len(answers)
            seen_a, seen_b = await weekly(stubs[0]), await weekly(stubs[1])
            assert seen_a.spent_cents == pytest.approx(spent) and seen_b.spent_cents == pytest.approx(spent)
            assert seen_a.reserved_cents == seen_b.reserved_cents == 0
    finally:
        for r in (a, b):
            r.kill()


async def test_a_killed_routers_reservations_are_released_within_the_ttl(
    tmp_path: Path, nats_url: str, fake: FakeProviders
) -> None:
    ttl = 2.0
    a, b = await routers(tmp_path, nats_url, fake, 4 * RESERVATION, ttl_s=ttl)
    try:
        async with channel(a.addr, timeout=60) as ca, channel(b.addr, timeout=10) as cb:
            stub_a, stub_b = llm_pb2_grpc.LlmRouterStub(ca), llm_pb2_grpc.LlmRouterStub(cb)
            fake.script["anthropic"] = ["slow"] * 4  # a's four calls stall at the provider, holding the window
            stalled = [asyncio.ensure_future(complete(stub_a)) for _ in range(4)]
            await eventually(
                lambda: weekly(stub_b),
                timeout=10.0,
                what="b to see a's reservations",
                until=lambda w: w.reserved_cents > 3.5 * RESERVATION,
            )
            assert await complete(stub_b) == grpc.StatusCode.RESOURCE_EXHAUSTED
            await asyncio.sleep(ttl * 1.5)  # past the TTL: a renews what its running calls hold
            assert await complete(stub_b) == grpc.StatusCode.RESOURCE_EXHAUSTED
            a.kill()
            killed = time.monotonic()
            await eventually(
                lambda: complete(stub_b),
                timeout=ttl + 3.0,
                what="b to spend what the killed router held",
                until=lambda got: isinstance(got, llm_pb2.CompleteResponse),
                interval=0.1,
            )
            freed = time.monotonic() - killed
            assert freed <= ttl + 3.0, freed  # within the TTL, plus the polling and a round trip
            for call in stalled:
                assert await call == grpc.StatusCode.UNAVAILABLE  # the killed router's calls failed
    finally:
        for r in (a, b):
            r.kill()
