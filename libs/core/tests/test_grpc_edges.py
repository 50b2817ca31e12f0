"""Bad input at a gRPC server over real loopback: INVALID_ARGUMENT naming the field, never UNKNOWN."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_core import errors
from vapora_core.grpc import MAX_DETAIL_BYTES, GrpcServer
from vapora_core.message_check import Limits
from vapora_testing.edges import NOT_FOR_BAD_INPUT, status_of

GET_AGENT = "/vapora.agents.v1.AgentRegistry/GetAgent"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class _Registry(agents_pb2_grpc.AgentRegistryServicer):
    def __init__(self) -> None:
        self.calls = 0

    async def GetAgent(
        self, request: agents_pb2.GetAgentRequest, context: grpc.aio.ServicerContext
    ) -> agents_pb2.Agent:
        self.calls += 1
        raise errors.NotFound(f"agent {request.agent_id!r} is not registered")  # echoes the input

    async def Register(
        self, request: agents_pb2.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> agents_pb2.RegisterResponse:
        self.calls += 1
        return agents_pb2.RegisterResponse(agent=request.agent)


async def _serve(limits: Limits | None = None) -> tuple[GrpcServer, _Registry]:
    servicer = _Registry()
    server = GrpcServer(
        "test",
        "127.0.0.1",
        0,
        [(agents_pb2_grpc.add_AgentRegistryServicer_to_server, servicer, "vapora.agents.v1.AgentRegistry")],
        limits=limits,
    )
    await server.start()
    return server, servicer


@pytest.fixture
async def served() -> AsyncIterator[tuple[grpc.aio.Channel, _Registry]]:
    server, servicer = await _serve(Limits(id_bytes=64, string_bytes=4096, items=10))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch, servicer
    await server.stop(0)


async def test_bytes_that_are_not_the_request_are_invalid_argument_on_every_service(
    served: tuple[grpc.aio.Channel, _Registry],
) -> None:
    ch, servicer = served
    for method in (GET_AGENT, "/grpc.health.v1.Health/Check"):
        code, details = await status_of(ch.unary_unary(method)(b"\xff\xff\xff"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (method, code, details)
        assert f"the request of {method} does not decode" in details
    # a string field holding bytes that are not UTF-8 (a lone surrogate, as CESU-8)
    code, details = await status_of(ch.unary_unary(GET_AGENT)(b"\x0a\x03\xed\xa0\x80"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert servicer.calls == 0  # no handler ran
    # the reflection service streams its requests in: a bad one ends the stream the same way
    stream = ch.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    call = stream(iter([b"\xff\xff"]))
    with pytest.raises(grpc.RpcError) as info:
        async for _ in call:
            pass
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # ... and a good one is answered as before
    stub = reflection_pb2_grpc.ServerReflectionStub(ch)
    replies = [
        r async for r in stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    ]
    names = {s.name for s in replies[0].list_services_response.service}
    assert "vapora.agents.v1.AgentRegistry" in names


def _generic_only(servicer: _Registry, server: object) -> None:
    """A registrar as older generated code is: the service as a generic handler alone."""
    handlers = {
        "GetAgent": grpc.unary_unary_rpc_method_handler(
            servicer.GetAgent,
            request_deserializer=agents_pb2.GetAgentRequest.FromString,
            response_serializer=agents_pb2.Agent.SerializeToString,
        )
    }
    generic = grpc.method_handlers_generic_handler("vapora.agents.v1.AgentRegistry", handlers)
    server.add_generic_rpc_handlers((generic,))  # type: ignore[attr-defined]


async def test_a_service_added_as_a_generic_handler_alone_is_checked_and_mapped_the_same() -> None:
    servicer = _Registry()
    server = GrpcServer("test", "127.0.0.1", 0, [(_generic_only, servicer, "vapora.agents.v1.AgentRegistry")])
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            stub = agents_pb2_grpc.AgentRegistryStub(ch)
            for _ in range(2):  # the second call takes the handler wrapped at the first
                code, details = await status_of(ch.unary_unary(GET_AGENT)(b"\xff\xff\xff"))
                assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, details)
                assert f"the request of {GET_AGENT} does not decode" in details
                code, details = await status_of(stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="a")))
                assert (code, details) == (grpc.StatusCode.NOT_FOUND, "agent 'a' is not registered")
            code, _ = await status_of(stub.Register(agents_pb2.RegisterRequest()))
            assert code == grpc.StatusCode.UNIMPLEMENTED  # a method the generic handler does not have
    finally:
        await server.stop(0)
    assert servicer.calls == 2


async def test_requests_over_a_limit_are_refused_naming_the_field_and_the_limit(
    served: tuple[grpc.aio.Channel, _Registry],
) -> None:
    ch, servicer = served
    stub = agents_pb2_grpc.AgentRegistryStub(ch)
    code, details = await status_of(stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="x" * 100_000)))
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "agent_id has 100000 bytes; at most 64 are allowed")
    caps = [agents_pb2.Capability(task_type="coding")] * 11
    code, details = await status_of(
        stub.Register(agents_pb2.RegisterRequest(agent=agents_pb2.Agent(capabilities=caps)))
    )
    assert (code, details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "agent.capabilities has 11 items; at most 10 are allowed",
    )
    prompt = agents_pb2.Agent(id="a", system_prompt="é" * 3000)
    code, details = await status_of(stub.Register(agents_pb2.RegisterRequest(agent=prompt)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert details == "agent.system_prompt has 6000 bytes; at most 4096 are allowed"
    assert servicer.calls == 0


async def test_nul_characters_and_numbers_that_are_not_finite_are_refused(
    served: tuple[grpc.aio.Channel, _Registry],
) -> None:
    ch, _ = served
    stub = agents_pb2_grpc.AgentRegistryStub(ch)
    code, details = await status_of(stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="a\x00b")))
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "agent_id holds a NUL character (U+0000)")
    for bad in (float("nan"), float("inf"), float("-inf")):
        agent = agents_pb2.Agent(id="a", capabilities=[agents_pb2.Capability(task_type="t", proficiency=bad)])
        code, details = await status_of(stub.Register(agents_pb2.RegisterRequest(agent=agent)))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert details == f"agent.capabilities[0].proficiency must be a finite number, got {bad}"
    code, details = await status_of(stub.Register(agents_pb2.RegisterRequest(agent=agents_pb2.Agent(status=7))))  # type: ignore[arg-type]
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "agent.status is 7, not a value of its enum")


async def test_an_error_message_that_echoes_a_large_input_is_cut_to_a_bounded_size() -> None:
    server, _ = await _serve(Limits(id_bytes=1 << 20))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as ch:
            stub = agents_pb2_grpc.AgentRegistryStub(ch)
            code, details = await status_of(stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="é" * 100_000)))
    finally:
        await server.stop(0)
    assert code == grpc.StatusCode.NOT_FOUND  # its own code, not RESOURCE_EXHAUSTED from oversized metadata
    assert details.startswith("agent 'ééé")
    assert details.endswith("bytes cut)")
    assert len(details.encode()) <= MAX_DETAIL_BYTES


@SETTINGS
@given(body=st.binary(max_size=300))
async def test_any_bytes_as_a_request_get_a_status_that_is_not_a_server_fault(
    served: tuple[grpc.aio.Channel, _Registry], body: bytes
) -> None:
    ch, _ = served
    code, details = await status_of(ch.unary_unary(GET_AGENT)(body))
    assert code not in NOT_FOR_BAD_INPUT, (code, details)
    assert len(details.encode()) <= MAX_DETAIL_BYTES


@SETTINGS
@given(
    agent_id=st.text(st.characters(codec="utf-8"), max_size=100),
    prompt=st.text(st.characters(codec="utf-8"), max_size=2000),
    proficiency=st.floats(allow_nan=True, allow_infinity=True),
    load=st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
async def test_any_field_values_get_a_status_that_is_not_a_server_fault(
    served: tuple[grpc.aio.Channel, _Registry], agent_id: str, prompt: str, proficiency: float, load: int
) -> None:
    ch, _ = served
    stub = agents_pb2_grpc.AgentRegistryStub(ch)
    agent = agents_pb2.Agent(
        id=agent_id,
        system_prompt=prompt,
        current_load=load,
        capabilities=[agents_pb2.Capability(task_type=agent_id, proficiency=proficiency)],
    )
    for call in (
        stub.GetAgent(agents_pb2.GetAgentRequest(agent_id=agent_id)),
        stub.Register(agents_pb2.RegisterRequest(agent=agent)),
    ):
        code, details = await status_of(call)
        assert code not in NOT_FOR_BAD_INPUT, (code, details)
        assert len(details.encode()) <= MAX_DETAIL_BYTES
