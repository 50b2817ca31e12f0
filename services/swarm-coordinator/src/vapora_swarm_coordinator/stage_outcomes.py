"""Where the coordinator's task paths meet workflows: a stage's task ended, the engine is told.

A stage's task carries ``workflow_run_id`` and ``stage_id``; its assignment record keeps them
(``records.assigned`` / ``records.failed``) and a finish returns them with who held the task
(``repository.Holder``). When such a task ends — its execution settles it (``settling.py``), no
agent is capable of it (``assigning.py``), its attempts are used up (``reassigning.py``) — the
workflow engine gets the outcome, after the task's own DONE / FAILED event. A task of no
workflow pays one test of an empty string. A stage's execution is settled with its transition in
one store transaction (:meth:`StageOutcomes.settle`), its DONE / FAILED event published in between
the write and the transition's effects.

The engine's transition is idempotent, so the outcome of a redelivered execution, or one the
sweep reconciles later (``workflows/recovery.py``), changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass

from vapora.kg.v1 import kg_pb2
from vapora_swarm_coordinator.records import Row
from vapora_swarm_coordinator.repository import Holder
from vapora_swarm_coordinator.workflows.draft import Outcome
from vapora_swarm_coordinator.workflows.engine import WorkflowEngine
from vapora_swarm_coordinator.workflows.model import stage_of_task
from vapora_swarm_coordinator.workflows.together import Settling


@dataclass(frozen=True, slots=True)
class StageOutcomes:
    engine: WorkflowEngine

    async def settle(self, e: kg_pb2.ExecutionRecorded, settling: Settling) -> None:
        """A stage's task settled by its execution ``e``, its finish (``settling``) written with the
        transition (``WorkflowEngine.on_execution``); the run and stage are those its task id names
        (the transition applies only if the finish does, so only to the task's own stage), and its
        agent the execution's (the finish applies only if that agent holds the task)."""
        named = stage_of_task(e.task_id)
        if named is not None:
            run_id, stage_id = named
            await self.engine.on_execution(run_id, _outcome(e, stage_id, e.agent_id), settling)

    async def executed(self, holder: Holder, e: kg_pb2.ExecutionRecorded) -> None:
        """A stage's task settled by its execution (``holder.workflow_run_id`` is set)."""
        await self.engine.on_outcome(holder.workflow_run_id, _outcome(e, holder.stage_id, holder.agent_id))

    async def failed(self, row: Row, detail: str) -> None:
        """A task failed without an execution; the engine is told if it is a stage's."""
        run_id = str(row.get("workflow_run_id") or "")
        if not run_id:
            return
        outcome = Outcome(
            stage_id=str(row.get("stage_id", "")),
            task_id=str(row["task_id"]),
            success=False,
            agent_id=str(row.get("agent_id", "")),
            error=detail,
        )
        await self.engine.on_outcome(run_id, outcome)


def _outcome(e: kg_pb2.ExecutionRecorded, stage_id: str, agent_id: str) -> Outcome:
    return Outcome(
        stage_id=stage_id,
        task_id=e.task_id,
        success=e.success,
        agent_id=agent_id,
        execution_id=e.execution_id,
        result=e.result,
        error=e.error,
        verified=e.verified,
        verdict=e.verification.decision,  # a reviewer's: approve | request_changes
        commit=e.artifacts.commit,
        cost_cents=e.cost_cents,
    )
