"""Executions settle tasks: DONE or FAILED, from the job that holds the task.

The usual case is one round trip: a group-committed conditional update on the execution's job
id (``batching.GroupCommit.finish``), which returns only who held the task (agent, workspace,
task type) for the DONE / FAILED event. When it does not apply, the record says why: an unknown
task or an execution of an older job (a reassigned task) is ignored; a task held without a job
id on the execution is finished under the job that holds it; an execution applied before is
announced again (its event may not have gone out), and its agent's load is not dropped twice.
The result itself is not kept in the record: the knowledge graph's execution holds it, and the
event carries its first ``RESULT_LIMIT`` characters.

A workflow stage's task is finished in the same transaction as the transition its outcome makes
(``StageOutcomes.settle``, the workflow engine's group commit), so a stage done costs one round
trip, not two; the finish applies only while the execution's job (and agent) holds the task, and
the transition only if the finish did. The DONE / FAILED event is written to the connection once
that transaction is stored, before the transition's effects (so the event goes out first), and
the successors' tasks are published while its acknowledgement comes back; the execution is acked
only when all are stored (a failure of any redelivers it). When the outcome changes nothing (the
stage was cancelled meanwhile, the run is unknown) the task is finished on its own, without
lingering; when the finish does not apply, the record says why, as above, and an execution applied
before tells the workflow engine again (``stage_outcomes.py``): its transition is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from vapora.common.v1 import common_pb2
from vapora.kg.v1 import kg_pb2
from vapora_core.errors import InvalidArgument
from vapora_swarm_coordinator import metrics
from vapora_swarm_coordinator.announce import Announcer
from vapora_swarm_coordinator.batching import GroupCommit
from vapora_swarm_coordinator.records import Clock
from vapora_swarm_coordinator.repository import ASSIGNED, DONE, FAILED, AssignmentRepository, Finish, Holder
from vapora_swarm_coordinator.stage_outcomes import StageOutcomes
from vapora_swarm_coordinator.state import FleetView
from vapora_swarm_coordinator.workflows.model import is_stage_task
from vapora_swarm_coordinator.workflows.together import Settling

log = logging.getLogger("vapora.coordinator")

RESULT_LIMIT = 2000


@dataclass(frozen=True, slots=True, kw_only=True)
class Settler:
    repo: AssignmentRepository
    commits: GroupCommit
    view: FleetView
    announcer: Announcer
    clock: Clock
    stages: StageOutcomes | None = None  # the workflow engine

    async def on_execution(self, e: kg_pb2.ExecutionRecorded) -> None:
        """Mark the task DONE or FAILED when ``e`` comes from the job that holds it."""
        if not e.task_id:
            raise InvalidArgument("ExecutionRecorded without task_id")
        changes = {
            "state": DONE if e.success else FAILED,
            "execution_id": e.execution_id,
            "provider": e.provider,
            "model": e.model,
            "finished_s": self.clock(),
            "error": e.error,
        }
        holder: Holder | None = None
        if self.stages is not None and e.job_id and e.agent_id and is_stage_task(e.task_id):
            # A stage's task: its finish goes in one transaction with the stage's transition.
            finish = Finish(e.task_id, e.job_id, changes, agent_id=e.agent_id)
            settling = Settling(finish, lambda h: self._announce(e, h, applied=True))
            await self.stages.settle(e, settling)
            if settling.holder is not None:
                return  # stored, announced, the successors published
            if not settling.written:  # nothing to write with it: finished alone, not lingering
                holder = await self.commits.finish(e.task_id, e.job_id, changes, linger=False)
        elif e.job_id:
            # The usual case in one round trip: the job named by the execution still holds the task. A
            # workflow stage's task does not linger for company: the stages after it wait on it.
            holder = await self.commits.finish(e.task_id, e.job_id, changes, linger=not is_stage_task(e.task_id))
        applied = holder is not None
        if holder is None:
            row = await self.repo.get(e.task_id)
            if row is None:
                log.info("execution %s of unknown task %s ignored", e.execution_id, e.task_id)
                return
            if e.job_id and e.job_id != row["job_id"]:
                metrics.STALE.inc()
                log.info(
                    "stale execution %s of job %s ignored (task now held by %s)",
                    e.execution_id,
                    e.job_id,
                    row["job_id"],
                )
                return
            if row["state"] == ASSIGNED:
                holder = await self.repo.finish(e.task_id, str(row["job_id"]), changes)
                if holder is None:
                    return
                applied = True
            elif row.get("execution_id") != e.execution_id:
                return
            else:  # this execution was applied before; its DONE may not have gone out
                holder = Holder.of(row)
        announced = await self._announce(e, holder, applied=applied)
        try:
            if holder.workflow_run_id and self.stages is not None:
                await self.stages.executed(holder, e)  # its successors start while DONE is being stored
        finally:
            await announced

    async def _announce(self, e: kg_pb2.ExecutionRecorded, holder: Holder, *, applied: bool) -> asyncio.Future[Any]:
        """The task's DONE / FAILED event written to the connection (the agent's load dropped first,
        if this execution's finish was ``applied`` now); the future of its acknowledgement."""
        if applied:
            self.view.add_load(holder.agent_id, -1)
            metrics.finished(DONE if e.success else FAILED).inc()
        return await self.announcer.send_status(
            {"task_id": e.task_id, **holder.fields()},
            common_pb2.TASK_STATE_DONE if e.success else common_pb2.TASK_STATE_FAILED,
            provider=e.provider,
            model=e.model,
            execution_id=e.execution_id,
            result=e.result[:RESULT_LIMIT],
            detail=e.error,
            input_tokens=e.input_tokens,
            output_tokens=e.output_tokens,
            cost_cents=e.cost_cents,
            **{f: getattr(e, f) for f in ("verification", "artifacts") if e.HasField(f)},  # the evidence, the commit
        )
