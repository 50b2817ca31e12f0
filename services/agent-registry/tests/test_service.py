"""The registry's domain logic, with a fake clock and no I/O."""

from __future__ import annotations

import pytest

from vapora.agents.v1 import agents_pb2
from vapora_agent_registry.service import HEALTHY, UNHEALTHY, Registry
from vapora_core.errors import InvalidArgument, NotFound
from vapora_testing.clock import ManualClock

Kind = agents_pb2.AgentsChanged.Kind


def agent(
    agent_id: str, *types: str, role: str = "developer", runtime: str = "rt-1", workspace: str = ""
) -> agents_pb2.Agent:
    return agents_pb2.Agent(
        id=agent_id,
        workspace_id=workspace,
        role=role,
        capabilities=[agents_pb2.Capability(task_type=t, proficiency=0.5) for t in types or ("coding",)],
        max_concurrency=2,
        runtime_id=runtime,
    )


def beat(agent_id: str, load: int, runtime: str = "rt-1") -> agents_pb2.AgentHeartbeat:
    return agents_pb2.AgentHeartbeat(agent_id=agent_id, runtime_id=runtime, current_load=load)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_000.0)


@pytest.fixture
def reg(clock: ManualClock) -> Registry:
    return Registry(heartbeat_timeout_s=10, remove_after_s=30, clock=clock)


def test_register_is_healthy_and_a_second_register_is_an_update(reg: Registry) -> None:
    first = reg.register(agent("a1", "coding"))
    assert first.kind == Kind.KIND_REGISTERED and first.agent.status == HEALTHY
    again = reg.register(agent("a1", "coding", "review"))
    assert again.kind == Kind.KIND_UPDATED
    assert again.agent.registered_at == first.agent.registered_at
    assert [a.id for a in reg.list_agents(capability="review")[0]] == ["a1"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (
            agents_pb2.Agent(role="x", capabilities=[agents_pb2.Capability(task_type="coding")], max_concurrency=1),
            "agent.id",
        ),
        (
            agents_pb2.Agent(
                id="a.b", role="x", capabilities=[agents_pb2.Capability(task_type="c")], max_concurrency=1
            ),
            "agent.id",
        ),
        (
            agents_pb2.Agent(id="a", capabilities=[agents_pb2.Capability(task_type="c")], max_concurrency=1),
            "agent.role",
        ),
        (agents_pb2.Agent(id="a", role="r", max_concurrency=1), "agent.capabilities"),
        (
            agents_pb2.Agent(
                id="a", role="r", capabilities=[agents_pb2.Capability(task_type="c", proficiency=2)], max_concurrency=1
            ),
            "agent.capabilities[0].proficiency",
        ),
        (
            agents_pb2.Agent(id="a", role="r", capabilities=[agents_pb2.Capability(task_type="c")]),
            "agent.max_concurrency",
        ),
    ],
)
def test_register_refuses_an_invalid_agent_naming_the_field(reg: Registry, bad: agents_pb2.Agent, field: str) -> None:
    with pytest.raises(InvalidArgument, match=field.replace("[", r"\[").replace("]", r"\]")):
        reg.register(bad)
    assert len(reg) == 0


def test_list_filters_by_capability_role_and_status_and_pages_in_id_order(reg: Registry, clock: ManualClock) -> None:
    for i in range(25):
        reg.register(agent(f"dev-{i:02d}", "coding", role="developer"))
    reg.register(agent("rev-1", "review", "coding", role="code-reviewer"))
    reg.register(agent("doc-1", "documentation", role="documenter"))

    ids: list[str] = []
    token = ""
    while True:
        page, token = reg.list_agents(capability="coding", page_size=10, page_token=token)
        assert len(page) <= 10
        ids += [a.id for a in page]
        if not token:
            break
    assert ids == sorted([f"dev-{i:02d}" for i in range(25)] + ["rev-1"])
    assert [a.id for a in reg.list_agents(capability="coding", role="code-reviewer")[0]] == ["rev-1"]
    assert [a.id for a in reg.list_agents(role="documenter")[0]] == ["doc-1"]
    assert reg.list_agents(capability="marketing") == ([], "")

    clock.now += 11
    for i in range(25):
        reg.heartbeat(beat(f"dev-{i:02d}", 0))
    reg.sweep()
    healthy = reg.list_agents(capability="coding", status=HEALTHY)[0]
    assert len(healthy) == 25 and "rev-1" not in {a.id for a in healthy}
    assert [a.id for a in reg.list_agents(status=UNHEALTHY)[0]] == ["doc-1", "rev-1"]


def test_list_for_a_workspace_holds_shared_agents_and_its_own_private_ones_on_full_pages(reg: Registry) -> None:
    for agent_id, workspace in [("a", ""), ("b", "ws2"), ("c", "ws1"), ("d", "ws2"), ("e", "")]:
        reg.register(agent(agent_id, workspace=workspace))

    def every(workspace_id: str) -> list[list[str]]:
        pages, token = [], ""
        while True:
            page, token = reg.list_agents(workspace_id=workspace_id, page_size=2, page_token=token)
            pages.append([a.id for a in page])
            if not token:
                return pages

    assert every("ws1") == [["a", "c"], ["e"]]
    assert every("ws2") == [["a", "b"], ["d", "e"]]
    assert every("ws3") == [["a", "e"]]
    assert every("") == [["a", "b"], ["c", "d"], ["e"]]  # the fleet's own callers see every agent


def test_bad_page_token_and_negative_page_size_are_invalid_arguments(reg: Registry) -> None:
    with pytest.raises(InvalidArgument, match="page_token"):
        reg.list_agents(page_token="***")
    with pytest.raises(InvalidArgument, match="page_size"):
        reg.list_agents(page_size=-1)


def test_silent_agent_turns_unhealthy_then_is_removed_and_a_heartbeat_brings_it_back(
    reg: Registry, clock: ManualClock
) -> None:
    reg.register(agent("a1"))
    clock.now += 5
    assert reg.sweep() == []
    clock.now += 6
    changes = reg.sweep()
    assert [(c.kind, c.agent.id) for c in changes] == [(Kind.KIND_UNHEALTHY, "a1")]
    assert reg.get("a1").status == UNHEALTHY
    assert reg.sweep() == []  # announced once

    change = reg.heartbeat(beat("a1", 1))
    assert change is not None and change.kind == Kind.KIND_UPDATED and change.agent.status == HEALTHY

    clock.now += 31
    kinds = [c.kind for c in reg.sweep()]
    assert kinds == [Kind.KIND_REMOVED]
    with pytest.raises(NotFound):
        reg.get("a1")
    with pytest.raises(NotFound):
        reg.heartbeat(beat("a1", 0))
    assert reg.list_agents(capability="coding") == ([], "")


def test_load_is_summed_over_live_replicas_and_a_silent_replica_stops_counting(
    reg: Registry, clock: ManualClock
) -> None:
    reg.register(agent("a1", runtime="rt-1"))
    assert reg.heartbeat(beat("a1", 2, "rt-1")) is not None
    assert reg.heartbeat(beat("a1", 2, "rt-1")) is None  # nothing changed, nothing announced
    reg.heartbeat(beat("a1", 1, "rt-2"))
    assert reg.get("a1").current_load == 3
    clock.now += 6
    reg.heartbeat(beat("a1", 1, "rt-2"))
    clock.now += 6  # rt-1 silent for 12 s, rt-2 for 6 s
    changes = reg.sweep()
    assert [(c.kind, c.agent.current_load) for c in changes] == [(Kind.KIND_UPDATED, 1)]
    assert reg.get("a1").status == HEALTHY


def test_dirty_agents_are_handed_out_once_and_can_be_handed_back(reg: Registry) -> None:
    reg.register(agent("a1"))
    reg.register(agent("a2"))
    reg.deregister("a2")
    upserts, removed = reg.take_dirty()
    assert [a.id for a, _ in upserts] == ["a1"] and removed == ["a2"]
    assert reg.take_dirty() == ([], [])
    reg.mark_dirty(["a1"], ["a2"])
    upserts, removed = reg.take_dirty()
    assert [a.id for a, _ in upserts] == ["a1"] and removed == ["a2"]


def test_restored_agents_get_a_fresh_grace_period(clock: ManualClock) -> None:
    reg = Registry(heartbeat_timeout_s=10, remove_after_s=30, clock=clock)
    stored = agent("a1")
    stored.status = HEALTHY
    reg.restore([(stored, clock.now - 1000)])
    assert reg.sweep() == []
    assert [a.id for a in reg.list_agents(capability="coding", status=HEALTHY)[0]] == ["a1"]
