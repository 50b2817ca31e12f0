"""One start/stop sequence for every app: stops run in reverse, each once, a failing one skips none."""

from __future__ import annotations

import asyncio
import logging

import grpc
import pytest

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_core.aio import Periodic
from vapora_core.bus import Bus
from vapora_core.errors import Unavailable
from vapora_core.grpc import GrpcServer, channel, check_health
from vapora_core.parts import Parts, ServiceApp
from vapora_core.settings import ServiceSettings
from vapora_core.store import Store
from vapora_testing.polling import eventually
from vapora_testing.ports import free_port


async def test_stops_run_last_registered_first_each_once_and_a_failing_one_skips_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopped: list[str] = []
    parts = Parts("demo", grace=1.0)

    async def first() -> None:
        stopped.append("first")

    def breaks() -> None:
        stopped.append("breaks")
        raise RuntimeError("the channel was already gone")

    parts.callback("first", first)
    parts.callback("a broken part", breaks)
    parts.callback("last", stopped.append, "last")
    with caplog.at_level(logging.ERROR, logger="vapora.parts"):
        await parts.stop()
        await parts.stop()  # nothing left to stop
    assert stopped == ["last", "breaks", "first"]
    (record,) = caplog.records
    assert "demo: stopping a broken part failed" in record.getMessage()


async def test_real_parts_are_started_and_then_stopped_in_reverse_with_the_grace_passed_down(
    store_url: str, nats_url: str
) -> None:
    parts = Parts("demo", grace=0.5)
    order: list[str] = []
    store = await parts.store(Store(store_url, "demo"), ["DEFINE TABLE IF NOT EXISTS thing SCHEMALESS"])
    parts.callback("order", order.append, "after the bus, before the store")
    bus = await parts.bus(Bus(nats_url, "demo"))
    server = await parts.grpc(GrpcServer("demo", "127.0.0.1", 0, []))
    ticks: list[int] = []
    loop = parts.periodic(Periodic("demo-loop", 0.01, lambda: ticks.append(1)))
    target = f"127.0.0.1:{server.port}"
    assert store.is_open and await check_health(target) and bus.nc.is_connected
    await eventually(lambda: ticks, timeout=5.0, interval=0.01, what="the loop's first tick")
    await parts.stop()
    assert not store.is_open
    assert not await check_health(target, timeout=0.5)
    with pytest.raises(Unavailable):
        assert bus.nc is None  # the property raises once the bus is stopped
    seen = len(ticks)
    await asyncio.sleep(0.05)
    assert len(ticks) == seen and loop.name == "demo-loop"
    assert order == ["after the bus, before the store"]


async def test_a_bus_that_cannot_start_is_stopped_with_what_started_before_it(store_url: str) -> None:
    parts = Parts("demo", grace=0.5)
    store = await parts.store(Store(store_url, "demo"))
    unreachable = Bus(f"nats://127.0.0.1:{free_port()}", "demo")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.5):  # as when SIGTERM comes while NATS cannot be reached
            await parts.bus(unreachable)
    await parts.stop()
    assert not store.is_open


async def test_grpc_is_given_the_shutdown_grace_to_finish_calls_in_flight() -> None:
    started = asyncio.Event()

    class Slow(agents_pb2_grpc.AgentRegistryServicer):
        async def GetAgent(
            self, request: agents_pb2.GetAgentRequest, context: grpc.aio.ServicerContext
        ) -> agents_pb2.Agent:
            started.set()
            await asyncio.sleep(0.3)
            return agents_pb2.Agent(id=request.agent_id)

    parts = Parts("demo", grace=5.0)
    registrar = (agents_pb2_grpc.add_AgentRegistryServicer_to_server, Slow(), "vapora.agents.v1.AgentRegistry")
    server = await parts.grpc(GrpcServer("demo", "127.0.0.1", 0, [registrar]))
    async with channel(f"127.0.0.1:{server.port}", timeout=5.0) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        in_flight = asyncio.ensure_future(stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="a1")))
        await started.wait()
        await parts.stop()
        assert (await in_flight).id == "a1"  # it finished within the grace instead of being cut off


async def test_a_service_app_stop_drops_readiness_before_it_stops_its_parts() -> None:
    app = ServiceApp(ServiceSettings(service_name="demo"))
    seen: list[bool] = []
    app.parts.callback("readiness check", lambda: seen.append(app.readiness.ready))
    app.readiness.set(True)
    assert app.readiness.ready and app.grpc_port == 0  # no gRPC server yet
    await app.stop()
    assert seen == [False]  # not ready any more by the time the first part stops
