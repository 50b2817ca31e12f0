"""The retention sweep: assignments of tasks that ended long ago are deleted, nothing else is."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from vapora_core.errors import NotFound
from vapora_core.store import Store
from vapora_swarm_coordinator.repository import NAMESPACE, SCHEMA, AssignmentRepository, Create
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings

DAY = 86400.0


def row(task_id: str, *, state: str = "assigned", assigned_s: float) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "workspace_id": "ws1",
        "task_type": "testing",
        "agent_id": "a1" if state == "assigned" else "",
        "job_id": f"job-{task_id}-1" if state == "assigned" else "",
        "attempt": 1,
        "state": state,
        "ranking": b"",
        "reason": "highest score",
        "assigned_s": assigned_s,
    }


async def test_only_tasks_that_ended_before_the_window_lose_their_assignment(store_url: str) -> None:
    store = Store(store_url, NAMESPACE)
    await store.open(SCHEMA)
    now = 1000 * DAY
    try:
        repo = AssignmentRepository(store)
        done = {"state": "done", "execution_id": "e", "provider": "p", "model": "m", "error": ""}
        # done 40 days ago, after running for 20 days: its end, not its start, decides
        await repo.write_each([Create(row("done-old", assigned_s=now - 60 * DAY))])
        assert await repo.finish("done-old", "job-done-old-1", {**done, "finished_s": now - 40 * DAY})
        await repo.write_each([Create(row("done-recent", assigned_s=now - 60 * DAY))])
        assert await repo.finish("done-recent", "job-done-recent-1", {**done, "finished_s": now - 20 * DAY})
        # failed with no agent 31 days ago (no finished_s: it failed when it was stored)
        await repo.write_each([Create(row("no-agent", state="failed", assigned_s=now - 31 * DAY))])
        # cancelled before it arrived, 45 days ago: the placeholder goes too
        await repo.cancel("never-came", "ws1", "cancelled by u1", now - 45 * DAY)
        # still assigned after 90 days: the timeout sweep's business, never deleted here
        await repo.write_each([Create(row("stuck", assigned_s=now - 90 * DAY))])

        coordinator = Coordinator(
            CoordinatorSettings(retention_days=30.0),
            repo,
            bus=None,
            clock=lambda: now,  # type: ignore[arg-type]
        )
        before = REGISTRY.get_sample_value("vapora_coordinator_retention_deleted_total") or 0.0
        assert await coordinator.sweep_retention() == 3
        assert REGISTRY.get_sample_value("vapora_coordinator_retention_deleted_total") == before + 3
        kept = {r["task_id"] for r in await store.query("SELECT task_id FROM assignment")}
        assert kept == {"done-recent", "stuck"}
        assert await coordinator.sweep_retention() == 0

        with pytest.raises(NotFound, match="ended over 30 days ago"):
            await coordinator.explain("done-old", "ws1")
        assert (await coordinator.explain("done-recent", "ws1")).agent_id == "a1"
    finally:
        await store.close()
