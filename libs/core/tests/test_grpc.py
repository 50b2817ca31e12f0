"""gRPC helpers over real loopback sockets."""

from __future__ import annotations

import grpc
import pytest

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_core import errors
from vapora_core.grpc import GrpcServer, call, channel, check_health
from vapora_core.metrics import GRPC_REQUESTS
from vapora_core.telemetry import in_span, remote_span


class _Registry(agents_pb2_grpc.AgentRegistryServicer):
    def __init__(self) -> None:
        self.metadata: dict[str, str] = {}
        self.deadline: float | None = None

    async def GetAgent(
        self, request: agents_pb2.GetAgentRequest, context: grpc.aio.ServicerContext
    ) -> agents_pb2.Agent:
        self.metadata = {k: v for k, v in context.invocation_metadata() or ()}
        self.deadline = context.time_remaining()
        if request.agent_id == "missing":
            raise errors.NotFound("agent missing is not registered")
        if request.agent_id == "boom":
            raise RuntimeError("bug")
        return agents_pb2.Agent(id=request.agent_id, role="developer")


@pytest.fixture
async def server() -> tuple[GrpcServer, _Registry]:
    servicer = _Registry()
    srv = GrpcServer(
        "test",
        "127.0.0.1",
        0,
        [(agents_pb2_grpc.add_AgentRegistryServicer_to_server, servicer, "vapora.agents.v1.AgentRegistry")],
    )
    await srv.start()
    yield srv, servicer
    await srv.stop(0)


async def test_health_reports_serving_then_not_serving(server: tuple[GrpcServer, _Registry]) -> None:
    srv, _ = server
    target = f"127.0.0.1:{srv.port}"
    assert await check_health(target)
    assert await check_health(target, "vapora.agents.v1.AgentRegistry")
    await srv._set(2)  # NOT_SERVING, as stop() does first
    assert not await check_health(target)


async def test_a_server_not_serving_its_services_still_answers_serving_as_a_whole(
    server: tuple[GrpcServer, _Registry],
) -> None:
    """A standby's health: the process is alive (what a liveness probe asks), its services are not
    taken (what a readiness probe asks for the service's name)."""
    srv, _ = server
    target = f"127.0.0.1:{srv.port}"
    await srv.set_serving(False)
    assert await check_health(target)
    assert not await check_health(target, "vapora.agents.v1.AgentRegistry")
    await srv.set_serving(True)
    assert await check_health(target, "vapora.agents.v1.AgentRegistry")


async def test_errors_map_to_status_codes_with_their_message(server: tuple[GrpcServer, _Registry]) -> None:
    srv, servicer = server
    target = f"127.0.0.1:{srv.port}"
    async with channel(target, timeout=2.0) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        reply = await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="a1"))
        assert reply.id == "a1"
        # the channel's default deadline (2 s) reached the server; gRPC rounds it, so allow a little over
        assert servicer.deadline is not None and 0 < servicer.deadline <= 2.5
        with pytest.raises(grpc.RpcError) as info:
            await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="missing"))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert info.value.details() == "agent missing is not registered"
        with pytest.raises(errors.NotFound, match="not registered"):
            await call(target, lambda: stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="missing")))
        with pytest.raises(grpc.RpcError) as info:
            await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="boom"))
        assert info.value.code() == grpc.StatusCode.INTERNAL
    assert GRPC_REQUESTS.labels("/vapora.agents.v1.AgentRegistry/GetAgent", "NOT_FOUND")._value.get() >= 1


async def test_unreachable_server_is_a_retryable_unavailable_error() -> None:
    async with channel("127.0.0.1:1", timeout=0.5) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        with pytest.raises(errors.Unavailable) as info:
            await call("127.0.0.1:1", lambda: stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="a")), attempts=2)
        assert info.value.retryable


async def test_a_call_carries_its_metadata_and_the_current_trace_context_and_its_own_deadline(
    server: tuple[GrpcServer, _Registry],
) -> None:
    srv, servicer = server
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with channel(f"127.0.0.1:{srv.port}", timeout=2.0) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        with in_span(remote_span(parent)):
            await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="a1"), metadata=(("authorization", "Bearer t"),))
        assert servicer.metadata["authorization"] == "Bearer t"
        assert servicer.metadata["traceparent"] == parent  # tracing off: the caller's context passed on
        await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="a1"), timeout=30.0)
        assert servicer.deadline is not None and 2.5 < servicer.deadline <= 30.5  # the call's, not the channel's
        assert "traceparent" not in servicer.metadata  # no current span: nothing to carry
