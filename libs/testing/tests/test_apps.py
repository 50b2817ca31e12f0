"""started() and grpc_stub(): an app stopped after its block whatever happens; a stub on a real server."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from vapora_testing.apps import grpc_stub, started


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")


async def test_started_starts_the_app_for_the_block_and_stops_it_after() -> None:
    app = Recorder()
    async with started(app) as running:
        assert running is app and app.calls == ["start"]
    assert app.calls == ["start", "stop"]


async def test_started_stops_the_app_when_the_block_raises() -> None:
    app = Recorder()
    with pytest.raises(RuntimeError, match="the test failed"):
        async with started(app):
            raise RuntimeError("the test failed")
    assert app.calls == ["start", "stop"]


@pytest.fixture
async def health_port() -> int:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    try:
        yield port
    finally:
        await server.stop(None)


@pytest.mark.parametrize("timeout", [5.0, None])
async def test_grpc_stub_calls_the_server_on_the_port(health_port: int, timeout: float | None) -> None:
    async with grpc_stub(health_port, health_pb2_grpc.HealthStub, timeout=timeout) as stub:
        reply = await stub.Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
