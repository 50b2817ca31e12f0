"""The bench's fleet (agents and their learning profiles) and the scoring path, warm.

The scoring path: 1,000 healthy agents in the in-memory view, every one capable of the task type
and with a learning profile, loads 0-3; one assignment = ``FleetView.best`` (the seed's score,
lazy heap per task type, 10 best kept) + the load update — what the coordinator does per task.
"""

from __future__ import annotations

import time

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora_swarm_coordinator.state import FleetView

TASK_TYPE = "coding"
# What the shipped developer manifest allows: each job's token names them (the coordinator signs one per job).
TOOLS = ("files.read_text_file", "files.write_file", "files.edit_file", "files.list_directory", "git.git_status")


def fleet(n: int) -> tuple[list[agents_pb2.Agent], list[kg_pb2.LearningProfile]]:
    agents = [
        agents_pb2.Agent(
            id=f"agent-{i:04d}",
            role="developer",
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            max_concurrency=0,
            allowed_tools=TOOLS,
            capabilities=[agents_pb2.Capability(task_type=t) for t in (TASK_TYPE, "review")],
        )
        for i in range(n)
    ]
    profiles = [
        kg_pb2.LearningProfile(
            agent_id=a.id,
            task_type=TASK_TYPE,
            success_rate=0.5 + (i % 50) / 100,
            expertise=0.4 + (i % 37) / 100,
            confidence=min(1.0, (i % 25) / 20),
            executions=1 + i % 25,
        )
        for i, a in enumerate(agents)
    ]
    return agents, profiles


def warm_view(n: int) -> FleetView:
    view = FleetView()
    agents, profiles = fleet(n)
    view.set_agents(agents)
    for p in profiles:
        view.set_profile(p)
    for i, a in enumerate(agents):
        view.add_load(a.id, i % 4)
    return view


def bench_scoring(n_agents: int, seconds: float = 3.0) -> float:
    view = warm_view(n_agents)
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(20):
            chosen, _ = view.best(TASK_TYPE, "ws1", 10)[0]
            view.add_load(chosen.agent_id, 1)
            view.add_load(chosen.agent_id, -1)
        done += 20
    return done / elapsed
