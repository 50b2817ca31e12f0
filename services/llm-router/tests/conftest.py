from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from vapora.llm.v1 import llm_pb2_grpc
from vapora_core.grpc import GrpcServer, channel
from vapora_llm_router.config import load
from vapora_llm_router.grpc_server import SERVICE_NAME, LlmRouterServicer
from vapora_llm_router.providers import build_providers
from vapora_llm_router.repository import UsageRepository
from vapora_llm_router.service import RouterService, UsageRecord
from vapora_llm_router.settings import RouterSettings
from vapora_testing.fake_providers import KEY, FakeProviders

PRICES = """
[models."claude-sonnet-4-5"]
input_usd_per_mtok = 3.0
output_usd_per_mtok = 15.0
[models."gpt-4o"]
input_usd_per_mtok = 2.5
output_usd_per_mtok = 10.0
[models."gemini-2.0-flash"]
input_usd_per_mtok = 0.1
output_usd_per_mtok = 0.4
"""

ROUTER = """
fallback_chain = ["ollama", "gemini", "openai", "anthropic"]
[default]
provider = "anthropic"
[retry]
attempts = 2
backoff_s = 0.01
[breaker]
failure_threshold = 3
cooldown_s = 30
[[rules]]
name = "docs"
task_types = ["documentation"]
provider = "gemini"
"""


@pytest.fixture
async def fake() -> AsyncIterator[FakeProviders]:
    f = FakeProviders()
    await f.start()
    yield f
    await f.stop()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    (d / "router.toml").write_text(ROUTER)
    (d / "budget.toml").write_text("")
    (d / "prices.toml").write_text(PRICES)
    return d


def keyed_settings(
    url: str,
    config_dir: Path,
    *,
    providers: tuple[str, ...] = ("anthropic", "openai", "gemini", "ollama"),
    **extra: object,
) -> RouterSettings:
    kwargs: dict[str, object] = {"config_dir": config_dir, "provider_timeout_s": 1.0}
    for p in providers:
        kwargs[f"{p}_base_url"] = url
        if p != "ollama":
            kwargs[f"{p}_api_key"] = KEY
    kwargs.update(extra)
    return RouterSettings(_env_file=None, **kwargs)  # type: ignore[call-arg]


@pytest.fixture
def make_service(fake: FakeProviders, config_dir: Path) -> Callable[..., tuple[RouterService, list[UsageRecord]]]:
    def build(**kwargs: object) -> tuple[RouterService, list[UsageRecord]]:
        settings = keyed_settings(fake.url, config_dir, **kwargs)  # type: ignore[arg-type]
        providers, unavailable = build_providers(settings)
        records: list[UsageRecord] = []
        config = load(settings.router_file, settings.budget_file, settings.resolved_prices_file)

        async def no_sleep(_: float) -> None:
            return None

        svc = RouterService(config, providers, unavailable, usage_sink=records.append, sleep=no_sleep)
        return svc, records

    return build


@asynccontextmanager
async def serving(
    svc: RouterService, usage: UsageRepository | None = None
) -> AsyncIterator[tuple[str, llm_pb2_grpc.LlmRouterStub]]:
    """``svc`` behind the real LlmRouterServicer over gRPC on loopback (reading spend from
    ``usage``): its address and a stub."""
    server = GrpcServer(
        "llm-router",
        "127.0.0.1",
        0,
        [(llm_pb2_grpc.add_LlmRouterServicer_to_server, LlmRouterServicer(svc, usage), SERVICE_NAME)],
    )
    await server.start()
    try:
        async with channel(f"127.0.0.1:{server.port}", timeout=10.0) as ch:
            yield f"127.0.0.1:{server.port}", llm_pb2_grpc.LlmRouterStub(ch)
    finally:
        await server.stop(0)


@pytest.fixture
async def router_stub(
    make_service: Callable[..., tuple[RouterService, list[UsageRecord]]],
) -> AsyncIterator[llm_pb2_grpc.LlmRouterStub]:
    """The real router (RouterService + LlmRouterServicer) over gRPC on loopback, keyed to the fakes."""
    svc, _ = make_service()
    async with serving(svc) as (_, stub):
        yield stub
