"""Each job carries a token the coordinator signed: the agent, its role and tools, the task."""

from __future__ import annotations

from typing import Any

import pytest
from coordinator_testkit import EventLog, SimAgent, known_agents, running, submit, task  # type: ignore[import-not-found]

from vapora.coordinator.v1 import coordinator_pb2
from vapora_core.bus import Bus
from vapora_core.errors import Unauthenticated
from vapora_core.jobtoken import JobVerifier
from vapora_swarm_coordinator.settings import CoordinatorSettings


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
        await submit(bus, t)
        await events.wait_for(lambda: events.final(t.id) is not None)
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
    await submit(bus, t)
    await events.wait_for(lambda: events.final(t.id) is not None)
    assert sim.jobs[0].token == ""
    with pytest.raises(Unauthenticated):
        JobVerifier(job_keys[1]).verify(sim.jobs[0].token)
