"""The assignment record, ``assignment:<task_id>``: how one is made, and what is read from one.

A record holds ``task_id``, ``workspace_id``, ``task_type``, ``agent_id``, ``job_id``
(``job-<task>-<attempt>``, the JetStream msg id of the job, so a re-publish dedups),
``attempt``, ``state``, ``ranking`` (``ranking.pack``: the best candidates, the chosen agent
first), ``reason``, ``assigned_s`` and ``task`` (the Task's protobuf bytes, its type decided); the
task of a workflow stage also ``workflow_run_id`` and ``stage_id``.
A finish adds ``execution_id``, ``provider``, ``model``, ``finished_s`` and ``error``; a cancel,
``finished_s``. ``repository.py`` stores them; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vapora.tasks.v1 import tasks_pb2
from vapora_swarm_coordinator import ranking
from vapora_swarm_coordinator.repository import ASSIGNED, FAILED
from vapora_swarm_coordinator.scoring import Candidate, Score

Clock = Callable[[], float]  # seconds since the epoch: assigned_s, finished_s
Row = dict[str, Any]
Ranked = list[tuple[Candidate, Score]]  # the best candidates with their scores, the chosen one first


def job_id_for(task_id: str, attempt: int) -> str:
    return f"job-{task_id}-{attempt}"


def assigned(task: tasks_pb2.Task, task_type: str, ranked: Ranked, *, attempt: int, reason: str, at_s: float) -> Row:
    """The record of ``task`` held by ``ranked``'s first agent at ``attempt``."""
    task.task_type = task_type  # the task as assigned, its type decided (the message is the caller's own)
    return _staged(
        task,
        {
            "task_id": task.id,
            "workspace_id": task.workspace_id,
            "task_type": task_type,
            "agent_id": ranked[0][0].agent_id,
            "job_id": job_id_for(task.id, attempt),
            "attempt": attempt,
            "state": ASSIGNED,
            "ranking": ranking.pack(ranked),
            "reason": reason,
            "assigned_s": at_s,
            "task": task.SerializeToString(),
        },
    )


def failed(task: tasks_pb2.Task, task_type: str, *, reason: str, at_s: float) -> Row:
    """The record of ``task`` failed before any agent held it."""
    return _staged(
        task,
        {
            "task_id": task.id,
            "workspace_id": task.workspace_id,
            "task_type": task_type,
            "agent_id": "",
            "job_id": "",
            "attempt": 0,
            "state": FAILED,
            "ranking": ranking.EMPTY,
            "reason": reason,
            "assigned_s": at_s,
            "task": task.SerializeToString(),
        },
    )


def _staged(task: tasks_pb2.Task, row: Row) -> Row:
    """``row`` with the workflow stage ``task`` is the task of, if it is one's."""
    if task.workflow_run_id:
        row["workflow_run_id"] = task.workflow_run_id
        row["stage_id"] = task.stage_id
    return row


def task_of(row: Row) -> tasks_pb2.Task:
    """The task a record holds."""
    task = tasks_pb2.Task()
    task.ParseFromString(row.get("task") or b"")
    return task


def chosen_score(row: Row) -> Score | None:
    """The score of the agent a record chose: the head of its ranking (the chosen agent is always
    ranked first); None when no agent was chosen."""
    ranked = ranking.unpack(row.get("ranking", ranking.EMPTY))
    return ranked[0].score if ranked else None


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a task went where it went: the record's fields, the chosen score, the ranking."""

    task_id: str
    workspace_id: str
    agent_id: str
    job_id: str
    task_type: str
    reason: str
    attempt: int
    assigned_s: float
    score: Score | None  # the chosen agent's; None when no agent was chosen
    candidates: list[ranking.Standing]  # best first, the chosen agent first


def explanation(row: Row) -> Explanation:
    candidates = ranking.unpack(row.get("ranking", ranking.EMPTY))
    return Explanation(
        task_id=str(row["task_id"]),
        workspace_id=str(row["workspace_id"]),
        agent_id=str(row.get("agent_id", "")),
        job_id=str(row.get("job_id", "")),
        task_type=str(row.get("task_type", "")),
        reason=str(row.get("reason", "")),
        attempt=int(row.get("attempt", 0)),
        assigned_s=float(row.get("assigned_s", 0.0)),
        score=candidates[0].score if candidates else None,
        candidates=candidates,
    )
