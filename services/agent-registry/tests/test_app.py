"""agent-registry against the real nats-server, embedded SurrealDB and gRPC over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_agent_registry.app import RegistryApp
from vapora_agent_registry.repository import AgentRepository
from vapora_agent_registry.settings import RegistrySettings
from vapora_core.bus import Bus, Delivery, subjects
from vapora_core.bus.topology import ConsumerSpec
from vapora_core.grpc import channel
from vapora_testing.apps import started
from vapora_testing.polling import eventually

Kind = agents_pb2.AgentsChanged.Kind
HEALTHY = agents_pb2.AGENT_STATUS_HEALTHY

CHANGES = ConsumerSpec(durable="test-agents-changed", stream="AGENTS", filter_subjects=("agents.changed",))


def settings(nats_url: str, store_url: str, **kw: float) -> RegistrySettings:
    return RegistrySettings(
        nats_url=nats_url,
        store_url=store_url,
        grpc_port=0,
        metrics_port=0,
        shutdown_grace_s=1.0,
        sweep_interval_s=0.1,
        flush_interval_s=0.2,
        **kw,
    )


def agent(agent_id: str, *types: str, role: str = "developer", workspace: str = "") -> agents_pb2.Agent:
    return agents_pb2.Agent(
        id=agent_id,
        role=role,
        runtime_id="rt-test",
        max_concurrency=2,
        workspace_id=workspace,
        capabilities=[agents_pb2.Capability(task_type=t, proficiency=0.7) for t in types],
    )


@pytest.fixture
async def changes(bus: Bus) -> list[agents_pb2.AgentsChanged]:
    got: list[agents_pb2.AgentsChanged] = []

    async def on_change(msg: agents_pb2.AgentsChanged, _: Delivery) -> None:
        got.append(msg)

    await bus.subscribe(CHANGES, agents_pb2.AgentsChanged, on_change)
    return got


@pytest.fixture
async def app(nats_url: str, store_url: str) -> AsyncIterator[RegistryApp]:
    async with started(RegistryApp(settings(nats_url, store_url, heartbeat_timeout_s=1.0, remove_after_s=2.5))) as a:
        yield a


async def test_list_agents_for_a_workspace_over_grpc(app: RegistryApp) -> None:
    async with channel(f"127.0.0.1:{app.grpc_port}") as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        await stub.Register(agents_pb2.RegisterRequest(agent=agent("dev-1", "coding")))
        await stub.Register(agents_pb2.RegisterRequest(agent=agent("own-1", "coding", workspace="ws2")))
        for workspace, ids in [("ws1", ["dev-1"]), ("ws2", ["dev-1", "own-1"]), ("", ["dev-1", "own-1"])]:
            visible = await stub.ListAgents(agents_pb2.ListAgentsRequest(workspace_id=workspace))
            assert [a.id for a in visible.agents] == ids


async def test_register_get_list_and_every_change_is_published(
    app: RegistryApp, changes: list[agents_pb2.AgentsChanged]
) -> None:
    async with channel(f"127.0.0.1:{app.grpc_port}") as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        reply = await stub.Register(agents_pb2.RegisterRequest(agent=agent("dev-1", "coding", "testing")))
        assert reply.agent.status == HEALTHY and reply.agent.registered_at.seconds > 0
        await stub.Register(agents_pb2.RegisterRequest(agent=agent("rev-1", "review", role="code-reviewer")))

        got = await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="dev-1"))
        assert [c.task_type for c in got.capabilities] == ["coding", "testing"]
        listed = await stub.ListAgents(agents_pb2.ListAgentsRequest(capability="coding", status=HEALTHY))
        assert [a.id for a in listed.agents] == ["dev-1"]
        by_role = await stub.ListAgents(agents_pb2.ListAgentsRequest(role="code-reviewer"))
        assert [a.id for a in by_role.agents] == ["rev-1"]

        await stub.Deregister(agents_pb2.DeregisterRequest(agent_id="rev-1"))
        with pytest.raises(grpc.RpcError) as info:
            await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="rev-1"))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        assert "rev-1" in (info.value.details() or "")

        with pytest.raises(grpc.RpcError) as info:
            await stub.Register(agents_pb2.RegisterRequest(agent=agents_pb2.Agent(id="x", role="r")))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "agent.capabilities" in (info.value.details() or "")

    await eventually(lambda: len(changes) >= 3, timeout=10.0, what="three agents.changed events")
    assert [(c.kind, c.agent.id) for c in changes[:3]] == [
        (Kind.KIND_REGISTERED, "dev-1"),
        (Kind.KIND_REGISTERED, "rev-1"),
        (Kind.KIND_REMOVED, "rev-1"),
    ]


async def test_bus_heartbeats_carry_load_and_silence_makes_agent_unhealthy_then_removed(
    app: RegistryApp, bus: Bus, changes: list[agents_pb2.AgentsChanged]
) -> None:
    await app.directory.register(agent("dev-1", "coding"))
    await bus.publish(
        subjects.heartbeat("dev-1"), agents_pb2.AgentHeartbeat(agent_id="dev-1", runtime_id="rt-test", current_load=2)
    )
    await eventually(lambda: app.registry.get("dev-1").current_load == 2, timeout=10.0, what="dev-1 at load 2")
    await bus.publish_raw(subjects.heartbeat("dev-1"), b"\xff\xff not a heartbeat")  # dead-lettered, not fatal
    await bus.publish(
        subjects.heartbeat("ghost"), agents_pb2.AgentHeartbeat(agent_id="ghost", runtime_id="rt", current_load=0)
    )

    await eventually(lambda: any(c.kind == Kind.KIND_UNHEALTHY for c in changes), timeout=5, what="an unhealthy change")
    async with channel(f"127.0.0.1:{app.grpc_port}") as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        healthy = await stub.ListAgents(agents_pb2.ListAgentsRequest(capability="coding", status=HEALTHY))
        assert list(healthy.agents) == []
        await eventually(lambda: any(c.kind == Kind.KIND_REMOVED for c in changes), timeout=5, what="a removed change")
        listed = await stub.ListAgents(agents_pb2.ListAgentsRequest(capability="coding"))
        assert list(listed.agents) == []
    kinds = [c.kind for c in changes if c.agent.id == "dev-1"]
    assert kinds == [Kind.KIND_REGISTERED, Kind.KIND_UPDATED, Kind.KIND_UNHEALTHY, Kind.KIND_REMOVED]


async def test_state_survives_a_restart(nats_url: str, store_url: str) -> None:
    first = RegistryApp(settings(nats_url, store_url, heartbeat_timeout_s=30, remove_after_s=60))
    await first.start()
    await first.directory.register(agent("dev-1", "coding"))
    await first.directory.register(agent("doc-1", "documentation", role="documenter"))
    await first.directory.deregister("doc-1")
    await first.directory.heartbeat(agents_pb2.AgentHeartbeat(agent_id="dev-1", runtime_id="rt", current_load=1))
    await first.stop()

    second = RegistryApp(settings(nats_url, store_url, heartbeat_timeout_s=30, remove_after_s=60))
    await second.start()
    try:
        await asyncio.sleep(0.3)  # a few liveness sweeps: restored agents keep their grace period
        async with channel(f"127.0.0.1:{second.grpc_port}") as ch:
            stub = agents_pb2_grpc.AgentRegistryStub(ch)
            listed = await stub.ListAgents(agents_pb2.ListAgentsRequest(status=HEALTHY))
            assert [a.id for a in listed.agents] == ["dev-1"]
            assert listed.agents[0].capabilities[0].task_type == "coding"
            assert listed.agents[0].current_load == 1
    finally:
        await second.stop()


async def test_heartbeats_are_flushed_to_the_store_while_the_registry_runs(app: RegistryApp) -> None:
    await app.directory.register(agent("dev-1", "coding"))
    await app.directory.heartbeat(agents_pb2.AgentHeartbeat(agent_id="dev-1", runtime_id="rt", current_load=3))
    repo = AgentRepository(app.store)

    async def stored_load() -> int:
        agents, _ = await repo.load_all()
        ((stored, _),) = agents
        return int(stored.current_load)

    assert await stored_load() == 0  # a heartbeat only touches memory...
    await eventually(stored_load, timeout=2.5, what="the flushed load of 3", until=lambda load: load == 3)
    assert await stored_load() == 3  # ...until the flush, every flush_interval_s, writes it
