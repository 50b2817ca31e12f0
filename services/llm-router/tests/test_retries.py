"""Provider retries: jittered exponential backoff from router.retry; streams retried only before a delta."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import keyed_settings

from vapora_core.errors import Unavailable
from vapora_llm_router.config import load
from vapora_llm_router.providers import build_providers
from vapora_llm_router.providers.base import ChatTurn
from vapora_llm_router.routing import RouteRequest
from vapora_llm_router.service import RouterService
from vapora_testing.fake_providers import FakeProviders

REQ = RouteRequest(
    role="developer", task_type="coding", messages=(ChatTurn("user", "implement a parser"),), max_tokens=50
)


def service(fake: FakeProviders, config_dir: Path, waits: list[float]) -> RouterService:
    router = (config_dir / "router.toml").read_text().replace("attempts = 2", "attempts = 3")
    (config_dir / "router.toml").write_text(router)
    settings = keyed_settings(fake.url, config_dir)
    providers, unavailable = build_providers(settings)
    config = load(settings.router_file, settings.budget_file, settings.resolved_prices_file)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return RouterService(config, providers, unavailable, sleep=sleep)


async def test_retries_wait_exponentially_longer_with_jitter(fake: FakeProviders, config_dir: Path) -> None:
    waits: list[float] = []
    svc = service(fake, config_dir, waits)
    firsts, seconds = [], []
    for _ in range(8):
        fake.script["anthropic"] = ["429", "500"]
        waits.clear()
        result = await svc.complete(REQ)
        assert result.provider == "anthropic" and result.failed_providers == []
        first, second = waits  # two failed attempts, two waits, the third attempt answers
        assert 0.01 <= first <= 0.02  # backoff_s · 2⁰ + up to backoff_s of jitter
        assert 0.02 <= second <= 0.03  # backoff_s · 2¹ + jitter
        firsts.append(first)
        seconds.append(second)
    assert fake.hits["anthropic"] == 8 * 3
    assert len(set(firsts)) > 1 and len(set(seconds)) > 1  # jittered, not a fixed schedule


async def test_a_non_retryable_error_is_not_retried(fake: FakeProviders, config_dir: Path) -> None:
    waits: list[float] = []
    svc = service(fake, config_dir, waits)
    fake.script["anthropic"] = ["400"]
    result = await svc.complete(REQ)
    assert fake.hits["anthropic"] == 1 and waits == []
    assert result.failed_providers == ["anthropic"]


async def test_a_stream_is_retried_before_its_first_delta(fake: FakeProviders, config_dir: Path) -> None:
    waits: list[float] = []
    svc = service(fake, config_dir, waits)
    fake.script["anthropic"] = ["500", "429"]
    items = [item async for item in svc.stream(REQ)]
    final = items[-1]
    assert [i.delta for i in items[:-1]] == ["Hello", " from", " the fake"]  # type: ignore[union-attr]
    assert final.provider == "anthropic" and final.failed_providers == []  # type: ignore[union-attr]
    assert fake.hits["anthropic"] == 3 and len(waits) == 2


async def test_a_stream_that_sent_a_delta_is_never_retried(fake: FakeProviders, config_dir: Path) -> None:
    waits: list[float] = []
    svc = service(fake, config_dir, waits)
    fake.script["anthropic"] = ["stream_error"]
    got: list[str] = []
    with pytest.raises(Unavailable, match="Overloaded"):
        async for item in svc.stream(REQ):
            got.append(item.delta)  # type: ignore[union-attr]
    assert got == ["Hello", " from", " the fake"]
    assert fake.hits["anthropic"] == 1 and waits == []
    assert svc.breakers.get("anthropic").failures == 1  # the failure still counts


async def test_every_failed_attempt_counts_towards_the_breaker(fake: FakeProviders, config_dir: Path) -> None:
    waits: list[float] = []
    svc = service(fake, config_dir, waits)  # 3 attempts, threshold 3
    fake.script["anthropic"] = ["500"] * 3
    result = await svc.complete(REQ)
    assert result.provider == "ollama" and result.failed_providers == ["anthropic"]
    assert svc.breakers.get("anthropic").state(svc.breakers.now()) == "open"
    assert fake.hits["anthropic"] == 3


def half_open(svc: RouterService) -> list[float]:
    """Open anthropic's breaker, then let its cooldown pass: the next call is the one trial."""
    clock = [1000.0]
    svc.breakers._clock = lambda: clock[0]
    breaker = svc.breakers.get("anthropic")
    for _ in range(3):
        breaker.failure(clock[0])
    clock[0] += 31
    assert breaker.state(clock[0]) == "half_open" and breaker.can_try(clock[0])
    return clock


async def test_a_stream_dropped_by_its_caller_does_not_keep_the_half_open_trial(
    fake: FakeProviders, config_dir: Path
) -> None:
    svc = service(fake, config_dir, [])
    clock = half_open(svc)
    stream = svc.stream(REQ)
    first = await anext(stream)
    assert first.delta == "Hello"  # type: ignore[union-attr]
    assert not svc.breakers.get("anthropic").can_try(clock[0])  # the trial is in flight
    await stream.aclose()  # the client went away mid-stream
    assert svc.breakers.get("anthropic").can_try(clock[0])


async def test_a_call_cancelled_by_its_deadline_does_not_keep_the_half_open_trial(
    fake: FakeProviders, config_dir: Path
) -> None:
    svc = service(fake, config_dir, [])
    clock = half_open(svc)
    fake.script["anthropic"] = ["slow"]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(svc.complete(REQ), timeout=0.1)
    assert svc.breakers.get("anthropic").can_try(clock[0])
