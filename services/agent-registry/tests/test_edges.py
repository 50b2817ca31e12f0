"""Bad input at the registry's edges, for real: gRPC Register/Heartbeat and NATS heartbeats.

Issue 28, defect 5: ``Register`` with a 3 MB system prompt answered UNAVAILABLE (a retryable code)
from the NATS payload limit, after the agent had changed in memory.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_agent_registry.app import RegistryApp
from vapora_agent_registry.repository import AgentRepository
from vapora_agent_registry.settings import RegistrySettings
from vapora_core.bus import Bus, subjects
from vapora_core.bus.headers import DLQ_KIND, DLQ_REASON
from vapora_testing.apps import grpc_stub, started
from vapora_testing.edges import NOT_FOR_BAD_INPUT, status_of
from vapora_testing.polling import eventually


def manifest(agent_id: str = "coder-1", **fields: object) -> agents_pb2.Agent:
    agent = agents_pb2.Agent(
        id=agent_id,
        role="developer",
        runtime_id="rt-1",
        max_concurrency=2,
        capabilities=[agents_pb2.Capability(task_type="coding", proficiency=0.7)],
    )
    for name, value in fields.items():
        if isinstance(value, list):
            del getattr(agent, name)[:]
            getattr(agent, name).extend(value)
        else:
            setattr(agent, name, value)
    return agent


@pytest.fixture
async def app(nats_url: str, store_url: str) -> AsyncIterator[RegistryApp]:
    async with started(
        RegistryApp(
            RegistrySettings(nats_url=nats_url, store_url=store_url, grpc_port=0, metrics_port=0, shutdown_grace_s=1.0)
        )
    ) as a:
        yield a


@pytest.fixture
async def stub(app: RegistryApp) -> AsyncIterator[agents_pb2_grpc.AgentRegistryStub]:
    async with grpc_stub(app.grpc_port, agents_pb2_grpc.AgentRegistryStub) as stub:
        yield stub


async def test_a_manifest_too_big_for_nats_is_invalid_argument_and_changes_nothing(
    app: RegistryApp, stub: agents_pb2_grpc.AgentRegistryStub
) -> None:
    await stub.Register(agents_pb2.RegisterRequest(agent=manifest()))
    limit = app.bus.max_payload
    prompt = "p" * (limit - 100)  # under the gRPC limit of a string, over what agents.changed can carry
    code, details = await status_of(stub.Register(agents_pb2.RegisterRequest(agent=manifest(system_prompt=prompt))))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith("agent 'coder-1' (as its agents.changed event) is ")
    assert details.endswith(f"at most {limit:,} fit (the NATS server's max_payload)")
    kept = await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="coder-1"))
    assert kept.system_prompt == ""  # the registered agent is as it was
    code, details = await status_of(
        stub.Register(agents_pb2.RegisterRequest(agent=manifest(system_prompt="p" * 3_000_000)))
    )
    assert (code, details) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "agent.system_prompt has 3000000 bytes; at most 1048576 are allowed",
    )


async def test_nul_and_non_finite_fields_are_refused_before_they_reach_memory_or_the_store(
    app: RegistryApp, stub: agents_pb2_grpc.AgentRegistryStub, store_url: str
) -> None:
    bad = [
        (manifest(role="dev\x00eloper"), "agent.role holds a NUL character (U+0000)"),
        (
            manifest(capabilities=[agents_pb2.Capability(task_type="coding", proficiency=math.nan)]),
            "agent.capabilities[0].proficiency must be a finite number, got nan",
        ),
        (manifest(allowed_tools=["ok", "x\x00"]), "agent.allowed_tools[1] holds a NUL character (U+0000)"),
    ]
    for agent, message in bad:
        assert await status_of(stub.Register(agents_pb2.RegisterRequest(agent=agent))) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            message,
        )
    beat = agents_pb2.AgentHeartbeat(agent_id="coder-1", runtime_id="r\x00")
    assert await status_of(stub.Heartbeat(agents_pb2.HeartbeatRequest(heartbeat=beat))) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "heartbeat.runtime_id holds a NUL character (U+0000)",
    )
    listed = await stub.ListAgents(agents_pb2.ListAgentsRequest())
    assert list(listed.agents) == []
    await app.directory.flush()
    agents, broken = await AgentRepository(app.store).load_all()
    assert (agents, broken) == ([], [])


async def test_a_heartbeat_event_with_a_bad_field_is_dead_lettered_and_the_next_counts(
    app: RegistryApp, stub: agents_pb2_grpc.AgentRegistryStub, bus: Bus
) -> None:
    await stub.Register(agents_pb2.RegisterRequest(agent=manifest(runtime_id="")))
    dead = await bus.nc.subscribe("dlq.agents.heartbeat.>")
    future = Timestamp(seconds=253_402_300_000)
    for beat in (
        agents_pb2.AgentHeartbeat(agent_id="coder-1", runtime_id="rt\x00", current_load=1),
        agents_pb2.AgentHeartbeat(agent_id="coder-1", runtime_id="rt-1", current_load=-3),
        agents_pb2.AgentHeartbeat(agent_id="coder-1", runtime_id="rt-1", current_load=1, at=future),
    ):
        await bus.publish(subjects.heartbeat("coder-1"), beat)
    reasons = []
    for _ in range(3):
        msg = await dead.next_msg(timeout=10)
        assert msg.headers is not None and msg.headers[DLQ_KIND] == "invalid"
        reasons.append(msg.headers[DLQ_REASON])
    assert reasons[0] == "runtime_id holds a NUL character (U+0000)"
    assert reasons[1] == "current_load must be within [0, 1e+06], got -3"
    assert reasons[2].startswith("at is 9999-12-31T")
    await bus.publish(
        subjects.heartbeat("coder-1"), agents_pb2.AgentHeartbeat(agent_id="coder-1", runtime_id="rt-1", current_load=2)
    )
    await eventually(
        lambda: stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="coder-1")),
        timeout=10.0,
        what="coder-1 at load 2",
        until=lambda a: a.current_load == 2,
    )
    assert (await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="coder-1"))).current_load == 2


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    agent_id=st.text(st.characters(codec="utf-8"), max_size=40),
    role=st.text(st.characters(codec="utf-8"), max_size=40),
    prompt=st.text(st.characters(codec="utf-8"), max_size=200),
    proficiency=st.floats(allow_nan=True, allow_infinity=True),
    concurrency=st.integers(min_value=-(2**31), max_value=2**31 - 1),
)
async def test_any_manifest_gets_a_caller_status_and_the_registry_stays_readable(
    app: RegistryApp,
    stub: agents_pb2_grpc.AgentRegistryStub,
    agent_id: str,
    role: str,
    prompt: str,
    proficiency: float,
    concurrency: int,
) -> None:
    agent = manifest(agent_id or "x", role=role, system_prompt=prompt, max_concurrency=concurrency)
    agent.capabilities[0].proficiency = proficiency
    code, details = await status_of(stub.Register(agents_pb2.RegisterRequest(agent=agent)))
    assert code not in NOT_FOR_BAD_INPUT, (code, details)
    await stub.ListAgents(agents_pb2.ListAgentsRequest())
    await app.directory.flush()
    _, broken = await AgentRepository(app.store).load_all()  # every stored record reads back
    assert broken == []
