"""Cancels (``TaskCancelled`` from the gateway): the task is never assigned, and a job holding it stops.

One transaction (``AssignmentRepository.cancel``) gives a task with no record a cancelled one,
so it is never assigned when it comes in, and turns an assigned one cancelled. For an assigned
one the agent's load drops at once and ``JobStopped`` is broadcast for the runtimes to stop the
job; its execution, if it still comes, is ignored (``settling.py``). A redelivered cancel
broadcasts the stop again. Done and failed tasks, and another workspace's, are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.errors import InvalidArgument
from vapora_swarm_coordinator import metrics
from vapora_swarm_coordinator.announce import Announcer
from vapora_swarm_coordinator.records import Clock
from vapora_swarm_coordinator.repository import ASSIGNED, CANCELLED, AssignmentRepository
from vapora_swarm_coordinator.state import FleetView

log = logging.getLogger("vapora.coordinator")


@dataclass(frozen=True, slots=True, kw_only=True)
class Canceller:
    repo: AssignmentRepository
    view: FleetView
    announcer: Announcer
    clock: Clock

    async def on_cancel(self, c: tasks_pb2.TaskCancelled) -> None:
        """Never assign ``c``'s task; if a job holds it, free its agent and tell the runtimes to
        stop the job (a redelivered cancel tells them again)."""
        if not c.task_id or not c.workspace_id:
            raise InvalidArgument("TaskCancelled needs task_id and workspace_id")
        reason = f"cancelled by {c.actor or 'someone'}" + (f": {c.reason}" if c.reason else "")
        before = await self.repo.cancel(c.task_id, c.workspace_id, reason, self.clock())
        if before is None or not before.get("job_id"):
            return  # finished already, another workspace's, or never assigned
        agent_id = str(before["agent_id"])
        if before["state"] == ASSIGNED:
            self.view.add_load(agent_id, -1)
            metrics.finished(CANCELLED).inc()
        stop = coordinator_pb2.JobStopped(
            job_id=str(before["job_id"]),
            task_id=c.task_id,
            workspace_id=c.workspace_id,
            agent_id=agent_id,
            reason=reason,
        )
        await self.announcer.stop(stop)
        log.info("job %s of cancelled task %s stopped", stop.job_id, c.task_id, extra={"agent_id": agent_id})
