"""Cancelling a task stops its work: the job in flight is stopped and its agent takes the next task.

Real processes: nats-server, agent-registry, swarm-coordinator, llm-router, knowledge-graph,
api-gateway and one agent-runtime hosting one `coding` agent that runs one job at a time. The
LLM provider is the local fake speaking OpenAI's wire format whose first call hangs for 20 s, so
the first task's job is in flight when it is cancelled.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import sign_up, submit, wait_terminal
from tests.e2e.test_agent_failover import SlowFirstOpenAI, _config, fake_openai  # noqa: F401 (a fixture)
from tests.e2e.test_skeleton_flow import query_executions, wait_for_executions
from vapora_testing.fleet import Fleet
from vapora_testing.polling import eventually_sync

pytestmark = pytest.mark.e2e


def test_cancelling_a_running_task_stops_its_job_and_frees_its_agent(
    fleet_factory: type[Fleet],
    fake_openai: str,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    fleet = fleet_factory(
        service_env={
            "llm-router": {"VAPORA_OPENAI_API_KEY": "sk-test-not-a-real-key", "VAPORA_OPENAI_BASE_URL": fake_openai},
        }
    )
    fleet.start(services=("agent-registry", "swarm-coordinator", "llm-router", "knowledge-graph", "api-gateway"))
    fleet.start_replica("agent-runtime", "runtime-coder", {"VAPORA_CONFIG_DIR": str(_config(tmp_path, "coder"))})

    with httpx.Client(base_url=fleet.http_url(), timeout=10) as client:
        sign_up(client, "cx")
        first = submit(client, title="Implement the export endpoint", task_type="coding")

        eventually_sync(  # the job is in flight: its LLM call hangs
            lambda: SlowFirstOpenAI.calls > 0, timeout=20, interval=0.1, what="the agent to call the LLM"
        )
        r = client.post(f"/api/v1/tasks/{first['id']}/cancel", json={"reason": "not needed"})
        assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text

        second = submit(client, title="Implement the import endpoint", task_type="coding")
        done = wait_terminal(client, second["id"], timeout=60)
        assert done["state"] == "done" and done["agent_id"] == "coder", done
        assert client.get(f"/api/v1/tasks/{first['id']}").json()["state"] == "cancelled"

    workspace_id = done["workspace_id"]
    assert [e.task_id for e in wait_for_executions(fleet, workspace_id, second["id"])] == [second["id"]]
    # Had the first job not been stopped, it would have held the agent's one slot until its call
    # returned, then recorded its execution before the second job could start.
    assert asyncio.run(query_executions(fleet, workspace_id, first["id"])) == []
    assert SlowFirstOpenAI.calls == 2
