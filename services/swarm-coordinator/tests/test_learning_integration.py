"""Assignment that learns: real nats-server, real knowledge-graph and coordinator (in-process), real gRPC.

Two agents take `testing` tasks, each at most one at a time; tasks come in bursts of two,
so the coordinator's preferred agent gets the first task of a burst and the other agent the
second. The test clock drives the execution times, so recency shows without waiting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from coordinator_testkit import EventLog, SimAgent, known_agents, running, submit, task  # type: ignore[import-not-found]

from vapora_core.bus import Bus
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_testing.clock import ManualClock
from vapora_testing.polling import eventually

DAY = 86_400.0


@pytest.fixture
async def learning_coordinator(
    coordinator_settings: CoordinatorSettings, kg_app: KnowledgeGraphApp
) -> AsyncIterator[CoordinatorApp]:
    async with running(coordinator_settings, kg_addr=f"127.0.0.1:{kg_app.grpc_port}", workers=1) as app:
        yield app


async def test_a_failing_agent_loses_testing_tasks_and_wins_them_back_once_it_succeeds_recently(
    bus: Bus, events: EventLog, registry: Any, learning_coordinator: CoordinatorApp
) -> None:
    coord = await known_agents(learning_coordinator, registry[0], {"a-flaky": "testing", "b-solid": "testing"})
    clock = ManualClock(1_700_000_000.0)
    phase = {"a-flaky": False, "b-solid": True}  # who succeeds now
    flaky = SimAgent("a-flaky", bus, succeed=lambda job: phase["a-flaky"], clock=clock)
    solid = SimAgent("b-solid", bus, succeed=lambda job: phase["b-solid"], clock=clock)
    await flaky.start()
    await solid.start()
    done = {"a-flaky": 0, "b-solid": 0}

    async def burst() -> str:
        """Two tasks at once; returns the agent that got the first (the preferred one)."""
        first, second = task("testing"), task("testing")
        await submit(bus, first)
        await submit(bus, second)
        await events.wait_for(lambda: events.final(first.id) is not None and events.final(second.id) is not None)
        preferred = events.final(first.id).agent_id  # type: ignore[union-attr]
        for t in (first, second):
            done[events.final(t.id).agent_id] += 1  # type: ignore[union-attr]

        def profiles_caught_up() -> bool:
            return all(
                (p := coord.view.profiles.get((a, "testing"))) is not None and p.executions == n
                for a, n in done.items()
            )

        await eventually(profiles_caught_up, timeout=15, interval=0.02, what=f"the coordinator's profiles at {done}")
        clock.now += 60
        return preferred

    # Day 0: no data yet, so the load decides (tie → a-flaky); a-flaky fails, b-solid succeeds.
    phase1 = [await burst() for _ in range(5)]
    assert phase1[0] == "a-flaky"
    assert phase1[1:] == ["b-solid"] * 4, phase1  # lost within one burst (2 tasks) of having data

    # Two weeks later a-flaky has improved and b-solid has regressed.
    clock.now += 14 * DAY
    phase["a-flaky"], phase["b-solid"] = True, False
    phase2 = [await burst() for _ in range(5)]
    assert phase2[0] == "b-solid"
    assert "a-flaky" in phase2[:3], phase2  # won back by the 3rd burst (within 6 tasks): recency
    won = phase2.index("a-flaky")
    assert phase2[won:] == ["a-flaky"] * (5 - won), phase2
