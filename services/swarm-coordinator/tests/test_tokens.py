"""Each job carries a token the coordinator signed: the agent, its role and tools, the task."""

from __future__ import annotations

import time
from typing import Any

import pytest
from coordinator_testkit import EventLog, SimAgent, known_agents, running, submit_and_wait, task  # type: ignore[import-not-found]

from vapora.agents.v1 import agents_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus
from vapora_core.errors import Unauthenticated
from vapora_core.jobtoken import JobVerifier
from vapora_swarm_coordinator.announce import Announcer
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.state import FleetView
from vapora_swarm_coordinator.tokens import job_tokens


async def test_a_job_carries_a_token_naming_its_agent_role_tools_and_task(
    bus: Bus,
    events: EventLog,
    registry: Any,
    coordinator_settings: CoordinatorSettings,
    job_keys: tuple[str, str],
) -> None:
    fake, _ = registry
    agent = fake.add("a-reviewer", "review")
    agent.role = "code-reviewer"
    agent.allowed_tools.extend(["files.read_text_file", "git.*"])
    async with running(coordinator_settings, job_signing_key=job_keys[0], job_timeout_s=60.0) as app:
        await app.coordinator.refresh_registry(force=True)
        sim = SimAgent("a-reviewer", bus)
        await sim.start()
        t = task("review", workspace="ws-t", project_id="p-7")
        await submit_and_wait(bus, events, t)
    job: coordinator_pb2.JobAssigned = sim.jobs[0]
    claims = JobVerifier(job_keys[1]).verify(job.token)
    assert (claims.agent_id, claims.role, claims.workspace_id) == ("a-reviewer", "code-reviewer", "ws-t")
    assert (claims.task_id, claims.job_id, claims.project_id) == (t.id, job.job_id, "p-7")
    assert claims.tools == ("files.read_text_file", "git.*")
    assert claims.expires_at - claims.issued_at == pytest.approx(60.0 + 300.0, abs=1)


async def test_without_a_signing_key_a_job_has_no_token_and_a_forged_one_does_not_verify(
    bus: Bus, events: EventLog, registry: Any, coordinator: Any, job_keys: tuple[str, str]
) -> None:
    await known_agents(coordinator, registry[0], {"a-coder": "coding"})
    sim = SimAgent("a-coder", bus)
    await sim.start()
    t = task("coding")
    await submit_and_wait(bus, events, t)
    assert sim.jobs[0].token == ""
    with pytest.raises(Unauthenticated):
        JobVerifier(job_keys[1]).verify(sim.jobs[0].token)


@pytest.mark.parametrize("n", [3, 13])
async def test_each_token_of_a_batch_names_its_own_job_in_order(n: int, job_keys: tuple[str, str]) -> None:
    """In a small batch and a larger one, token i is
    row i's: its agent, role, tools, task and job."""
    view = FleetView()
    view.set_agents(
        [
            agents_pb2.Agent(
                id=f"a-{k}", role=f"role-{k}", allowed_tools=[f"tool.{k}"], status=agents_pb2.AGENT_STATUS_HEALTHY
            )
            for k in range(3)
        ]
    )
    announcer = Announcer(bus=None, clock=time.time, view=view, tokens=job_tokens(job_keys[0], 60.0))  # type: ignore[arg-type]
    jobs = [
        (
            {
                "agent_id": f"a-{i % 3}",
                "workspace_id": "ws-b",
                "task_id": f"t-{i}",
                "job_id": f"job-t-{i}-1",
                "assigned_s": time.time(),
            },
            tasks_pb2.Task(id=f"t-{i}", workspace_id="ws-b", project_id=f"p-{i}"),
        )
        for i in range(n)
    ]
    tokens = announcer.sign_jobs(jobs)
    assert tokens is not None and len(tokens) == n
    verifier = JobVerifier(job_keys[1])
    for i, token in enumerate(tokens):
        claims = verifier.verify(token)
        assert (claims.agent_id, claims.role, claims.tools) == (f"a-{i % 3}", f"role-{i % 3}", (f"tool.{i % 3}",))
        assert (claims.task_id, claims.job_id, claims.project_id, claims.workspace_id) == (
            f"t-{i}",
            f"job-t-{i}-1",
            f"p-{i}",
            "ws-b",
        )
    assert Announcer(bus=None, clock=time.time).sign_jobs(jobs) is None  # type: ignore[arg-type]
