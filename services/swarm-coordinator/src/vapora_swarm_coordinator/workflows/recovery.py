"""What a crash between a stored transition and its effects leaves behind, found and finished.

- At start (:meth:`Recovery.recover`): the gauges are counted from the store; every run in
  progress is advanced (a no-op for a consistent run, which re-asserts its effects: the tasks of
  its running stages are published again, and JetStream drops those it has by msg id); running
  stages are reconciled with their tasks' assignments; stages cancelled in the last day whose
  task an agent still holds have their cancel published again.
- Every sweep (:meth:`Recovery.sweep`, beside the job-timeout sweep): a running stage past its
  ``timeout_s`` fails its attempt (its task cancelled); a stage running longer than
  ``reconcile_after_s`` is reconciled.

Reconciling a running stage with its task's assignment: none yet (the task is waiting in the
stream, or its publish was lost) → the task is published again (a copy of one waiting in the
stream is dropped by its msg id, or finds the first's assignment); done, failed or
cancelled for longer than ``reconcile_after_s`` (its outcome should have come through the
execution and did not: an execution dead-lettered, a task that failed with no agent) → that
outcome is applied. A done task applied this way has no result text: the execution that carried
it is gone.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

from vapora_core.errors import NotFound, VaporaError
from vapora_swarm_coordinator.records import Clock
from vapora_swarm_coordinator.repository import ASSIGNED, DONE, AssignmentRepository
from vapora_swarm_coordinator.workflows import metrics, transitions
from vapora_swarm_coordinator.workflows.draft import CancelTask, Outcome, Submit
from vapora_swarm_coordinator.workflows.engine import WorkflowEngine
from vapora_swarm_coordinator.workflows.model import RUNNING
from vapora_swarm_coordinator.workflows.together import Plan

log = logging.getLogger("vapora.coordinator.workflows")

DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Recovery:
    engine: WorkflowEngine
    assignments: AssignmentRepository
    clock: Clock
    reconcile_after_s: float = 30.0

    async def recover(self) -> None:
        repo = self.engine.repo
        metrics.set_counts(await repo.count_by_state())
        for gate in await repo.waiting_gates():
            self.engine.waiting.set(str(gate["run_id"]), str(gate["stage_id"]), float(gate["started_s"]))
        unfinished = await repo.unfinished()
        for run_id in unfinished:
            await self._quietly(run_id, transitions.advance)
        await self._reconcile(await repo.running_stages(), settled_before=self.clock())
        await self._cancel_again(self.clock() - DAY_S)
        if unfinished:
            log.info("recovered %d workflow runs in progress", len(unfinished))

    async def sweep(self) -> None:
        now = self.clock()
        running = await self.engine.repo.running_stages()
        for row in running:
            if float(row.get("deadline_s") or 0) and float(row["deadline_s"]) <= now:
                timed_out = functools.partial(transitions.timeout, stage_id=str(row["stage_id"]))
                await self._quietly(str(row["run_id"]), timed_out)
        cutoff = now - self.reconcile_after_s
        await self._reconcile([r for r in running if float(r.get("started_s") or 0) <= cutoff], settled_before=cutoff)

    async def _reconcile(self, stages: list[dict[str, Any]], *, settled_before: float) -> None:
        republish: dict[str, list[str]] = {}  # run → its running stages whose task has no assignment
        for row in stages:
            run_id, task_id = str(row["run_id"]), str(row["task_id"])
            assignment = await self.assignments.get(task_id)
            if assignment is None:
                republish.setdefault(run_id, []).append(str(row["stage_id"]))
                continue
            state = assignment.get("state")
            settled = float(assignment.get("finished_s") or assignment.get("assigned_s") or 0.0)
            if state == ASSIGNED or settled > settled_before:
                continue
            o = Outcome(
                stage_id=str(row["stage_id"]),
                task_id=task_id,
                success=state == DONE,
                agent_id=str(assignment.get("agent_id", "")),
                execution_id=str(assignment.get("execution_id", "")),
                error=str(assignment.get("error") or assignment.get("reason") or f"its task was {state}"),
            )
            log.warning("workflow run %s: stage %s reconciled from its task's %s assignment", run_id, o.stage_id, state)
            await self._quietly(run_id, functools.partial(transitions.outcome, o=o))
        for run_id, stage_ids in republish.items():
            await self._publish_again(run_id, stage_ids)

    async def _publish_again(self, run_id: str, stage_ids: list[str]) -> None:
        """The tasks of stages that still run and that the coordinator never assigned: published
        again, however long ago they started (none was ever announced to an agent, so a second copy
        of one finds the first's assignment and is dropped)."""
        self.engine.forget(run_id)
        run = await self.engine.repo.read(run_id)
        if run is None:
            return
        submits = [Submit(sid) for sid in stage_ids if run.stages[sid].state == RUNNING]
        try:
            await self.engine.effects.carry_out(run, [], submits, announce=False)
        except VaporaError as exc:
            log.warning("workflow run %s: its tasks not published again, retried at the next sweep: %s", run_id, exc)

    async def _cancel_again(self, since_s: float) -> None:
        for row in await self.engine.repo.cancelled_since(since_s):
            assignment = await self.assignments.get(str(row["task_id"]))
            if assignment is None or assignment.get("state") != ASSIGNED:
                continue
            run = await self.engine.repo.read(str(row["run_id"]))
            if run is not None:
                cancel = CancelTask(str(row["stage_id"]), str(row["task_id"]), str(row.get("detail", "")))
                await self.engine.effects.carry_out(run, [], [cancel], announce=False)

    async def _quietly(self, run_id: str, plan: Plan) -> None:
        """One run's change; its failure is logged (the next sweep tries again), never raised."""
        try:
            await self.engine.change(run_id, plan)
        except NotFound:
            pass
        except VaporaError as exc:
            log.warning("workflow run %s: recovery step failed, retried at the next sweep: %s", run_id, exc)
