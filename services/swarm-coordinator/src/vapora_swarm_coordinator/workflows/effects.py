"""What the workflow engine publishes once a transition is stored, and nothing else.

In this order, all sent before any is awaited (one connection keeps their order):

1. ``WorkflowRunChanged`` on ``events.workflow.<ws>``: one per changed stage (a started stage
   carries its task's title and priority, so the gateway can put the task on the board before the
   coordinator assigns it), or one for the run alone when no stage changed; msg id
   ``wfr-<run>-v<version>-<stage>``, so a publish retried after a lost acknowledgement is stored once.
2. A started stage's task: ``TaskSubmitted`` on ``tasks.<type>.<priority>``, msg id = task id
   (``wf-<run>-<stage>-<attempt>``), built from stored state only, so a re-publish is the same
   message and JetStream drops it.
3. A cancelled stage's task: ``TaskCancelled`` on ``cancels.<ws>`` (msg id = task id), the same
   path a person's cancel takes (the coordinator never assigns it, or stops its job), and the
   task's ``TaskStatusChanged`` CANCELLED on ``events.task.<ws>`` for the board (msg id
   ``<task>-cancelled``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import subjects
from vapora_core.bus.codec import timestamp
from vapora_swarm_coordinator.announce import Publisher
from vapora_swarm_coordinator.records import Clock
from vapora_swarm_coordinator.workflows import messages
from vapora_swarm_coordinator.workflows.draft import CancelTask, Effect, Submit
from vapora_swarm_coordinator.workflows.model import Run
from vapora_swarm_coordinator.workflows.tasks import stage_task


@dataclass(frozen=True, slots=True)
class Effects:
    bus: Publisher
    clock: Clock

    async def carry_out(
        self, run: Run, changed: Sequence[str], effects: Sequence[Effect], *, announce: bool = True
    ) -> None:
        """Publish the events of ``changed`` stages (``announce``; with no stage changed, one for
        the run), then ``effects``; return once all are stored."""
        await stored(await self.send(run, changed, effects, announce=announce))

    async def send(
        self, run: Run, changed: Sequence[str], effects: Sequence[Effect], *, announce: bool = True
    ) -> list[asyncio.Future[Any]]:
        """Write what :meth:`carry_out` publishes to the connection, in its order; the futures of
        their acknowledgements (:func:`stored` awaits them). The engine sends while it holds the
        run and awaits the acknowledgements once it has let go of it."""
        now = self.clock()
        tasks = {e.stage_id: stage_task(run, run.template.stage(e.stage_id)) for e in effects if isinstance(e, Submit)}
        sent: list[asyncio.Future[Any]] = []
        workflow_subject = subjects.workflow_event(run.workspace_id)
        for sid in (changed or [""]) if announce else ():
            event = self.event(run, sid, tasks.get(sid), now)
            sent.append(await self.bus.send(workflow_subject, event, msg_id=f"wfr-{run.id}-v{run.version}-{sid}"))
        for task in tasks.values():
            priority = common_pb2.Priority.Name(task.priority).removeprefix("PRIORITY_").lower()
            subject = subjects.task(task.task_type, priority)
            sent.append(await self.bus.send(subject, tasks_pb2.TaskSubmitted(task=task), msg_id=task.id))
        for e in effects:
            if isinstance(e, CancelTask):
                sent += await self._cancel(run, e, now)
        return sent

    def event(
        self, run: Run, stage_id: str, task: tasks_pb2.Task | None, now: float
    ) -> coordinator_pb2.WorkflowRunChanged:
        out = coordinator_pb2.WorkflowRunChanged(
            run_id=run.id,
            workspace_id=run.workspace_id,
            workflow=run.workflow,
            state=messages.run_state(run.state),
            at=timestamp(now),
            version=run.version,
            detail=run.detail,
            title=run.title,
            project_id=run.project_id,
        )
        if stage_id:
            out.stage.CopyFrom(messages.stage(run.stages[stage_id], run.decisions))
        if task is not None:
            out.task_title = task.title
            out.task_priority = common_pb2.Priority.Name(task.priority).removeprefix("PRIORITY_").lower()
        return out

    async def _cancel(self, run: Run, e: CancelTask, now: float) -> list[asyncio.Future[Any]]:
        cancelled = tasks_pb2.TaskCancelled(
            task_id=e.task_id,
            workspace_id=run.workspace_id,
            actor=f"workflow run {run.id}",
            reason=e.reason,
            at=timestamp(now),
        )
        status = tasks_pb2.TaskStatusChanged(
            task_id=e.task_id,
            workspace_id=run.workspace_id,
            state=common_pb2.TASK_STATE_CANCELLED,
            detail=e.reason,
            task_type=run.stages[e.stage_id].task_type,
            at=timestamp(now),
        )
        return [
            await self.bus.send(subjects.cancel(run.workspace_id), cancelled, msg_id=e.task_id),
            await self.bus.send(subjects.task_event(run.workspace_id), status, msg_id=f"{e.task_id}-cancelled"),
        ]


async def stored(sent: Sequence[asyncio.Future[Any]]) -> None:
    """Return once every message of ``sent`` is stored (raise the first failure, once all answered)."""
    failure: BaseException | None = None
    for future in sent:
        try:
            await future
        except Exception as exc:
            failure = failure or exc
    if failure is not None:
        raise failure
