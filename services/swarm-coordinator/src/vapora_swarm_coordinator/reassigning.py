"""Reassigns: a task whose agent turned UNHEALTHY / REMOVED, or whose job exceeded
``job_timeout_s``, moves to another agent with room, up to ``max_attempts``, then FAILED.

The move is a conditional update on the attempt seen (``AssignmentRepository.reassign``), so a
task is never held by two jobs; the new job (``job-<task>-<attempt+1>``) is announced and the old
agent's load dropped only when the update applied. With no other agent with room, the task stays
where it is until the next change or sweep. Executions of the older job are ignored
(``settling.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora_core.errors import InvalidArgument
from vapora_swarm_coordinator import metrics, records
from vapora_swarm_coordinator.announce import Announcer
from vapora_swarm_coordinator.records import Clock, Row
from vapora_swarm_coordinator.repository import FAILED, AssignmentRepository
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.stage_outcomes import StageOutcomes
from vapora_swarm_coordinator.state import FleetView

log = logging.getLogger("vapora.coordinator")

_MOVED = ("agent_id", "job_id", "attempt", "ranking", "reason", "assigned_s")  # what a reassign changes


@dataclass(frozen=True, slots=True, kw_only=True)
class Reassigner:
    settings: CoordinatorSettings
    repo: AssignmentRepository
    view: FleetView
    announcer: Announcer
    clock: Clock
    stages: StageOutcomes | None = None  # the workflow engine, told when a stage's task fails here

    async def on_agents_changed(self, ev: agents_pb2.AgentsChanged) -> None:
        """Keep the view current; move the tasks of an agent that is no longer healthy."""
        kind = ev.kind
        if kind in (agents_pb2.AgentsChanged.KIND_REGISTERED, agents_pb2.AgentsChanged.KIND_UPDATED):
            self.view.upsert_agent(ev.agent)
            if ev.agent.status == agents_pb2.AGENT_STATUS_HEALTHY:
                return
        elif kind == agents_pb2.AgentsChanged.KIND_REMOVED:
            self.view.remove_agent(ev.agent.id)
        elif kind == agents_pb2.AgentsChanged.KIND_UNHEALTHY:
            self.view.upsert_agent(ev.agent)
        else:
            raise InvalidArgument(f"AgentsChanged with unknown kind {kind}")
        for row in await self.repo.held_by(ev.agent.id):
            await self.reassign(row, why=f"agent {ev.agent.id} is no longer healthy")

    async def sweep_timeouts(self) -> int:
        """Reassign every job assigned more than ``job_timeout_s`` ago; how many there were."""
        overdue = await self.repo.overdue(self.clock() - self.settings.job_timeout_s)
        for row in overdue:
            await self.reassign(row, why=f"job {row['job_id']} timed out after {self.settings.job_timeout_s:.0f}s")
        return len(overdue)

    async def reassign(self, row: Row, *, why: str) -> Row | None:
        """Move ``row``'s task to another agent (conditional on the attempt), or FAIL it."""
        task_id, attempt, old_agent = str(row["task_id"]), int(row["attempt"]), str(row["agent_id"])
        if attempt >= self.settings.max_attempts:
            detail = f"{why}; gave up after {attempt} attempts"
            updated = await self.repo.reassign(task_id, attempt, {"state": FAILED, "reason": detail})
            if updated is not None:
                self.view.add_load(old_agent, -1)
                metrics.finished(FAILED).inc()
                await self.announcer.status(updated, common_pb2.TASK_STATE_FAILED, detail=detail)
                if self.stages is not None:
                    await self.stages.failed(updated, detail)
            return updated
        task_type = str(row["task_type"])
        task = records.task_of(row)
        ranked = self.view.best(
            task_type,
            str(row["workspace_id"]),
            self.settings.explain_candidates,
            frozenset({old_agent}),
            role=task.required_role,
        )
        if not ranked:
            log.warning("cannot reassign task %s now (%s): no other agent has room", task_id, why)
            return None
        chosen = ranked[0][0]
        self.view.add_load(chosen.agent_id, 1)
        new = records.assigned(
            task, task_type, ranked, attempt=attempt + 1, reason=f"reassigned: {why}", at_s=self.clock()
        )
        updated = await self.repo.reassign(task_id, attempt, {k: new[k] for k in _MOVED})
        if updated is None:
            self.view.add_load(chosen.agent_id, -1)
            return None
        self.view.add_load(old_agent, -1)
        metrics.REASSIGNMENTS.inc()
        await self.announcer.assignment(updated)
        return updated
