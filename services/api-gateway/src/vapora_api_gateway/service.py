"""Tasks: submit, read, list, cancel, manual status, feedback, and the read model's updates."""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_api_gateway.clock import iso, now_ns
from vapora_api_gateway.evidence import fields_dict
from vapora_api_gateway.models import TaskIn
from vapora_api_gateway.params import INT64_MAX
from vapora_api_gateway.repository import Repository, Row
from vapora_api_gateway.security import new_id
from vapora_api_gateway.states import RANK, TERMINAL
from vapora_api_gateway.task_order import order_key
from vapora_core.aio import KeyedLocks
from vapora_core.bus import Bus, subjects
from vapora_core.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable

log = logging.getLogger("vapora.gateway.tasks")

PRIORITIES = {
    "low": common_pb2.PRIORITY_LOW,
    "normal": common_pb2.PRIORITY_NORMAL,
    "high": common_pb2.PRIORITY_HIGH,
    "critical": common_pb2.PRIORITY_CRITICAL,
}
STATES = {
    common_pb2.TASK_STATE_SUBMITTED: "submitted",
    common_pb2.TASK_STATE_ASSIGNED: "assigned",
    common_pb2.TASK_STATE_RUNNING: "running",
    common_pb2.TASK_STATE_DONE: "done",
    common_pb2.TASK_STATE_FAILED: "failed",
    common_pb2.TASK_STATE_CANCELLED: "cancelled",
}
STATE_ENUM = {v: k for k, v in STATES.items()}
PUBLIC_FIELDS = (
    "id",
    "workspace_id",
    "project_id",
    "title",
    "description",
    "task_type",
    "priority",
    "complexity",
    "state",
    "agent_id",
    "provider",
    "model",
    "result",
    "execution_id",
    "submitted_by",
    "created_at",
    "updated_at",
    "history",
    "step",
    "tool",
    "input_tokens",
    "output_tokens",
    "cost_cents",
    "workflow_run_id",
    "stage_id",
    "verification",
    "artifacts",
)
NO_USAGE: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0, "cost_cents": 0.0}
DEFAULTS: dict[str, Any] = {"step": 0, **NO_USAGE, "verification": None, "artifacts": None}  # else ""
MAX_PAGE = 100


def public_task(row: Row) -> dict[str, Any]:
    return {k: row.get(k) if row.get(k) is not None else DEFAULTS.get(k, "") for k in PUBLIC_FIELDS}


# A page cursor is the position after the last task of the page: "<created_ns>.<task id>". Every
# string of this form is a position (a later one than any task just reads as "from the newest"),
# so a cursor is never refused once it has the form the API documents.
CURSOR = r"[0-9]{1,19}\.[0-9a-f]{1,32}"


def encode_cursor(row: Row) -> str:
    return f"{row['created_ns']}.{row['tid']}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    ns, _, tid = cursor.partition(".")
    return min(int(ns), INT64_MAX), tid


def _ts(ns: int) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(ns)
    return ts


def usage_of(event: tasks_pb2.TaskStatusChanged) -> dict[str, Any]:
    """The tokens and cost of the execution that settled the task, when the event carries them. A
    value no execution can have (negative, not finite) is left out with a warning naming it: the
    event's state change still applies."""
    usage = {"input_tokens": event.input_tokens, "output_tokens": event.output_tokens, "cost_cents": event.cost_cents}
    if not any(usage.values()):
        return {}
    if not math.isfinite(event.cost_cents) or min(usage.values()) < 0:
        log.warning("task %s: status event with impossible usage %s; left out", event.task_id, usage)
        return {}
    return usage


class Tasks:
    def __init__(self, repo: Repository, bus: Bus) -> None:
        self.repo = repo
        self.bus = bus
        self._applying = KeyedLocks()

    async def create(self, workspace_id: str, user_id: str, body: TaskIn) -> dict[str, Any]:
        if body.project_id and await self.repo.project([workspace_id], body.project_id) is None:
            raise NotFound(f"project_id {body.project_id}: no such project in this workspace")
        ns = now_ns()
        at = iso(ns)
        task_id = new_id()
        row = {
            "id": task_id,
            "tid": task_id,
            "workspace_id": workspace_id,
            "project_id": body.project_id,
            "title": body.title,
            "description": body.description,
            "task_type": body.task_type,
            "priority": body.priority,
            "complexity": body.complexity,
            "labels": body.labels,
            "state": "submitted",
            "rank": RANK["submitted"],
            "agent_id": "",
            "provider": "",
            "model": "",
            "result": "",
            "execution_id": "",
            "submitted_by": user_id,
            "created_at": at,
            "updated_at": at,
            "created_ns": ns,
            "order_key": order_key(ns, task_id),
            "history": [{"state": "submitted", "at": at, "agent_id": "", "detail": ""}],
        }
        # Empty fields are not stored (reads fill them in): less to encode and write per task.
        await self.repo.create_task({k: v for k, v in row.items() if v not in ("", {})})
        message = tasks_pb2.TaskSubmitted(
            task=tasks_pb2.Task(
                id=task_id,
                workspace_id=workspace_id,
                project_id=body.project_id,
                title=body.title,
                description=body.description,
                task_type=body.task_type,
                priority=PRIORITIES[body.priority],
                complexity=body.complexity,
                labels=body.labels,
                submitted_by=user_id,
                created_at=_ts(ns),
            )
        )
        try:
            await self.bus.publish(subjects.task(body.task_type or "untyped", body.priority), message, msg_id=task_id)
        except Unavailable:
            await self.repo.store.execute("DELETE type::thing('task', $id)", {"id": task_id})
            raise
        return public_task(row)

    async def get(self, workspace_ids: list[str], task_id: str) -> Row:
        row = await self.repo.task(workspace_ids, task_id)
        if row is None:
            raise NotFound(f"no task {task_id}")
        return row

    async def page(self, workspace_id: str, filters: dict[str, str], cursor: str, limit: int) -> dict[str, Any]:
        """One page of tasks, newest first; the caller has checked the filters, cursor and limit."""
        rows = await self.repo.tasks(workspace_id, filters, decode_cursor(cursor) if cursor else None, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [public_task(r) for r in rows],
            "next_cursor": encode_cursor(rows[-1]) if more and rows else None,
        }

    async def stage_started(self, e: coordinator_pb2.WorkflowRunChanged) -> bool:
        """The board's row of a workflow stage's task, made when the coordinator starts the stage (it
        submits the task itself, so the gateway never saw it submitted): the status events of the
        task then move it like any other. False when the event starts no task, or the row exists."""
        st = e.stage
        if not e.HasField("stage") or not st.task_id or not e.task_title:
            return False
        if st.state != coordinator_pb2.WORKFLOW_STAGE_STATE_RUNNING:
            return False
        ns = e.at.ToNanoseconds() if e.HasField("at") else now_ns()
        at = iso(ns)
        tid = hashlib.sha256(st.task_id.encode()).hexdigest()[:32]  # the page cursor's tie-breaker: hex
        row = {
            "id": st.task_id,
            "tid": tid,
            "workspace_id": e.workspace_id,
            "project_id": e.project_id,
            "title": e.task_title,
            "task_type": st.task_type,
            "priority": e.task_priority or "normal",
            "state": "submitted",
            "rank": RANK["submitted"],
            "submitted_by": f"workflow-run:{e.run_id}",
            "created_at": at,
            "updated_at": at,
            "created_ns": ns,
            "order_key": order_key(ns, tid),
            "workflow_run_id": e.run_id,
            "stage_id": st.stage_id,
            "labels": {"workflow": e.workflow, "workflow_run": e.run_id, "stage": st.stage_id},
            "history": [
                {"state": "submitted", "at": at, "agent_id": "", "detail": f"stage {st.stage_id} of run {e.run_id}"}
            ],
        }
        return await self.repo.create_task_if_absent({k: v for k, v in row.items() if v not in ("", {})})

    async def apply(self, event: tasks_pb2.TaskStatusChanged) -> Row | None:
        """Update the read model from a status event, whatever order events arrive in.

        The read model ends at the latest state: an event applies only when its state ranks above
        the task's, or ranks the same and is newer by ``at``; a final state never changes (see
        :meth:`Repository.apply_status`). Events of one task are applied one at a time: the embedded
        store does not detect two concurrent updates of one record (both commit, the last wins, so a
        late ASSIGNED could overwrite DONE), and the gateway's consumer handles several at once.
        """
        state = STATES.get(event.state)
        if state is None:
            raise InvalidArgument(f"task {event.task_id}: status event without a known state ({event.state})")
        if not event.task_id:
            raise InvalidArgument("status event without a task_id")
        if not event.HasField("at"):
            raise InvalidArgument(f"task {event.task_id}: status event without at, so its order cannot be told")
        at_ns = event.at.ToNanoseconds()
        changes: dict[str, Any] = {"state": state, "updated_at": iso()}
        for name in ("agent_id", "provider", "model", "execution_id", "result", "task_type"):
            value = getattr(event, name)
            if value:
                changes[name] = value
        changes.update(usage_of(event))
        if event.HasField("verification"):
            changes["verification"] = fields_dict(event.verification)
        if event.HasField("artifacts"):
            changes["artifacts"] = fields_dict(event.artifacts)
        progress = event.state == common_pb2.TASK_STATE_RUNNING and event.step > 0  # the step going on
        if progress:
            changes["step"], changes["tool"] = event.step, event.tool
        entry = {"state": state, "at": iso(at_ns), "agent_id": event.agent_id, "detail": event.detail}
        async with self._applying.hold(event.task_id):
            return await self.repo.apply_status(event.task_id, RANK[state], at_ns, changes, entry, progress=progress)

    async def _announce(self, task: Row, state: str, detail: str) -> None:
        event = tasks_pb2.TaskStatusChanged(
            task_id=str(task["id"]),
            workspace_id=str(task["workspace_id"]),
            state=STATE_ENUM[state],
            agent_id=str(task.get("agent_id") or ""),
            detail=detail,
            task_type=str(task.get("task_type") or ""),
            execution_id=str(task.get("execution_id") or ""),
            at=_ts(now_ns()),
        )
        updated = await self.apply(event)
        if updated is None:
            raise FailedPrecondition(f"task {task['id']} is already {task['state']} and cannot become {state}")
        await self.bus.publish(subjects.task_event(str(task["workspace_id"])), event)

    async def cancel(self, task: Row, actor: str, reason: str) -> Row:
        """Call off the task's work (:meth:`_call_off`), then mark it cancelled."""
        if task["state"] in TERMINAL:
            raise FailedPrecondition(f"task {task['id']} is already {task['state']}")
        await self._call_off(task, actor, reason)
        await self._announce(task, "cancelled", _said(f"cancelled by {actor}", reason))
        return await self.get([str(task["workspace_id"])], str(task["id"]))

    async def set_status(self, task: Row, actor: str, state: str, detail: str) -> Row:
        """Set a task's state by hand. A final state (done, failed) also calls off its work, as a
        cancel does: nobody goes on working on a task that is over."""
        if task["state"] in TERMINAL:
            raise FailedPrecondition(f"task {task['id']} is already {task['state']}")
        if RANK[state] < RANK[str(task["state"])]:
            raise FailedPrecondition(f"task {task['id']} is {task['state']}; it cannot go back to {state}")
        if state in TERMINAL:
            await self._call_off(task, actor, _said(f"set {state} by hand", detail))
        await self._announce(task, state, _said(f"set by {actor}", detail))
        return await self.get([str(task["workspace_id"])], str(task["id"]))

    async def _call_off(self, task: Row, actor: str, reason: str) -> None:
        """Tell swarm-coordinator with ``TaskCancelled`` (it never assigns the task, or stops its job)
        before the read model changes: when NATS is down the request fails and nothing has changed."""
        workspace_id = str(task["workspace_id"])
        message = tasks_pb2.TaskCancelled(
            task_id=str(task["id"]), workspace_id=workspace_id, actor=actor, reason=reason, at=_ts(now_ns())
        )
        await self.bus.publish(subjects.cancel(workspace_id), message, msg_id=str(task["id"]))

    async def feedback(self, task: Row, actor: str, success: bool, quality: float, comment: str) -> dict[str, Any]:
        execution_id = str(task.get("execution_id") or "")
        if not execution_id:
            raise FailedPrecondition(f"task {task['id']} has no execution to give feedback on yet")
        message = tasks_pb2.FeedbackCorrection(
            task_id=str(task["id"]),
            workspace_id=str(task["workspace_id"]),
            execution_id=execution_id,
            success=success,
            quality=quality,
            comment=comment,
            actor=actor,
            at=_ts(now_ns()),
        )
        await self.bus.publish(subjects.feedback(str(task["workspace_id"])), message, msg_id=new_id())
        return {"task_id": task["id"], "execution_id": execution_id, "accepted": True}


def _said(what: str, words: str) -> str:
    """``what``, followed by the person's own ``words`` when they gave any."""
    return f"{what}: {words}" if words else what
