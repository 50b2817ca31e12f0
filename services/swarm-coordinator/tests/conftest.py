"""Fixtures of the coordinator's tests; helpers live in coordinator_testkit (importable by tests)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from coordinator_testkit import EventLog, FakeRegistry, following, running

from vapora.agents.v1 import agents_pb2_grpc
from vapora_core.bus import Bus
from vapora_core.grpc import GrpcServer
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings


@pytest.fixture
async def events(bus: Bus) -> AsyncIterator[EventLog]:
    async with following(EventLog(), bus) as log:
        yield log


@pytest.fixture
async def registry() -> AsyncIterator[tuple[FakeRegistry, str]]:
    fake = FakeRegistry()
    server = GrpcServer(
        "test-registry",
        "127.0.0.1",
        0,
        [(agents_pb2_grpc.add_AgentRegistryServicer_to_server, fake, "vapora.agents.v1.AgentRegistry")],
    )
    await server.start()
    try:
        yield fake, f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


@pytest.fixture
def coordinator_settings(nats_url: str, tmp_path: Path, registry: tuple[FakeRegistry, str]) -> CoordinatorSettings:
    return CoordinatorSettings(
        nats_url=nats_url,
        store_url=f"surrealkv://{tmp_path / 'coordinator'}",
        grpc_port=0,
        metrics_port=0,
        registry_addr=registry[1],
        kg_addr="",
        shutdown_grace_s=2.0,
        no_agent_timeout_s=3.0,
        no_agent_retry_s=0.3,
        capacity_wait_s=2.0,
        sweep_interval_s=0.5,
        config_dir=Path(__file__).resolve().parents[3] / "config",
    )


@pytest.fixture
async def coordinator(coordinator_settings: CoordinatorSettings) -> AsyncIterator[CoordinatorApp]:
    async with running(coordinator_settings) as app:
        yield app
