"""A run and its stages as the engine reads and writes them, and the names they go by.

- ``workflow_run:<run_id>``: workspace, project, workflow, ``template`` (a link to the frozen
  definition, ``workflow_frozen:<key>``: see :mod:`.repository`),
  title, description, state, ``paused``, branch ``vapora/run-<run_id>``, created_by, times
  (``created_s``, ``updated_s``, ``ended_s``), detail, cost, ``version`` (bumped by every
  transition: the guard of the conditional write).
- ``workflow_stage:<run_id>/<stage_id>``: state, attempt, task id of the current attempt
  (``wf-<run_id>-<stage_id>-<attempt>``), agent, task type, times, the last finished attempt's
  outcome (success, verified, result truncated, verdict, commit, execution id), the cost of all
  attempts, the comment a rejection sent it (``input_comment``), detail, and the counters of the
  current round (``failures``) and of the run (``rounds``: failure paths taken; ``rejections``).
- ``workflow_decision:<run_id>/<gate_id>/<round>``: one approve or reject of a gate (actor, role,
  comment, time), created in the same transaction as the gate's change: a replay cannot add a
  second one for the same round, and none is lost.

Nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from vapora_swarm_coordinator.workflows.definitions import WorkflowDef

# run states
RUNNING, WAITING_APPROVAL, PAUSED = "running", "waiting_approval", "paused"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
RUN_FINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
RUN_STATES = (RUNNING, WAITING_APPROVAL, PAUSED, SUCCEEDED, FAILED, CANCELLED)

# stage states (RUNNING, WAITING_APPROVAL, FAILED and CANCELLED are shared with runs)
PENDING, READY, DONE, APPROVED, REJECTED, SKIPPED = "pending", "ready", "done", "approved", "rejected", "skipped"
STAGE_STATES = (PENDING, READY, RUNNING, DONE, FAILED, WAITING_APPROVAL, APPROVED, REJECTED, CANCELLED, SKIPPED)
SATISFIED = frozenset({DONE, APPROVED})  # what a stage's needs must be for it to start
STAGE_FINAL = frozenset({DONE, APPROVED, FAILED, REJECTED, CANCELLED, SKIPPED})

RESULT_LIMIT = 4000  # characters of a stage's result kept (and passed to the stages that take it as input)
RUN_ID_CHARS = 16


STAGE_TASK_PREFIX = "wf-"


def task_id_for(run_id: str, stage_id: str, attempt: int) -> str:
    """The task of one attempt of a stage: a re-publish is the same JetStream message (msg id)."""
    return f"{STAGE_TASK_PREFIX}{run_id}-{stage_id}-{attempt}"


def is_stage_task(task_id: str) -> bool:
    """Whether ``task_id`` has the form of a workflow stage's task (a hint for the hot path only:
    the assignment record says whose stage it is)."""
    return task_id.startswith(STAGE_TASK_PREFIX)


def stage_of_task(task_id: str) -> tuple[str, str] | None:
    """(run id, stage id) that :func:`task_id_for` made ``task_id`` of; None for another form."""
    rest = task_id.removeprefix(STAGE_TASK_PREFIX)
    run_id, dash, stage_attempt = rest[:RUN_ID_CHARS], rest[RUN_ID_CHARS : RUN_ID_CHARS + 1], rest[RUN_ID_CHARS + 1 :]
    stage_id, _, attempt = stage_attempt.rpartition("-")
    if rest == task_id or dash != "-" or not stage_id or not attempt.isdigit():
        return None
    return run_id, stage_id


def branch_for(run_id: str) -> str:
    return f"vapora/run-{run_id}"


def stage_key(run_id: str, stage_id: str) -> str:
    return f"{run_id}/{stage_id}"


def decision_key(run_id: str, gate_id: str, round_: int) -> str:
    return f"{run_id}/{gate_id}/{round_}"


@dataclass(slots=True)
class Stage:
    """One stage of a run (``workflow_stage``); fields as the module docstring says."""

    stage_id: str
    kind: str = "task"
    state: str = PENDING
    attempt: int = 0
    task_id: str = ""
    agent_id: str = ""
    task_type: str = ""
    started_s: float = 0.0
    deadline_s: float = 0.0  # a running task stage times out then (started_s + timeout_s)
    finished_s: float = 0.0
    success: bool = False
    verified: bool = False
    result: str = ""
    verdict: str = ""
    commit: str = ""
    execution_id: str = ""
    cost_cents: float = 0.0
    input_comment: str = ""
    detail: str = ""
    failures: int = 0
    rounds: int = 0
    rejections: int = 0

    @classmethod
    def of(cls, row: dict[str, Any]) -> Stage:
        return cls(**{k: v for k, v in row.items() if k in _STAGE_FIELDS})

    def row(self, run_id: str) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _STAGE_FIELDS}
        out["run_id"] = run_id
        return out

    def copy(self) -> Stage:
        """Another stage with the same fields (all of them immutable values)."""
        return Stage(**{name: getattr(self, name) for name in _STAGE_FIELDS})


_STAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Stage))


@dataclass(frozen=True, slots=True)
class Decision:
    """An approve or reject of a gate, one per (gate, round)."""

    gate_id: str
    round: int
    approved: bool
    actor: str
    role: str
    comment: str
    at_s: float

    @classmethod
    def of(cls, row: dict[str, Any]) -> Decision:
        return cls(
            str(row["gate_id"]),
            int(row["round"]),
            bool(row["approved"]),
            str(row.get("actor", "")),
            str(row.get("role", "")),
            str(row.get("comment", "")),
            float(row.get("at_s", 0.0)),
        )

    def row(self, run_id: str) -> dict[str, Any]:
        return {"run_id": run_id, **dataclasses.asdict(self)}


@dataclass(slots=True)
class Run:
    """A run with its stages (in template order) and its gates' decisions (oldest first)."""

    id: str
    workspace_id: str
    workflow: str
    template: WorkflowDef
    title: str
    description: str = ""
    project_id: str = ""
    state: str = RUNNING
    paused: bool = False
    branch: str = ""
    created_by: str = ""
    created_s: float = 0.0
    updated_s: float = 0.0
    ended_s: float = 0.0
    detail: str = ""
    version: int = 1
    stages: dict[str, Stage] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return self.state in RUN_FINAL

    @property
    def created_ns(self) -> int:
        """The run's place in its workspace's list (newest first), as the page cursor names it."""
        return int(self.created_s * 1e9)

    @property
    def cost_cents(self) -> float:
        return sum(s.cost_cents for s in self.stages.values())

    def fields(self) -> dict[str, Any]:
        """The ``workflow_run`` record but its ``template`` link (the repository's: see there);
        stages and decisions live in their own tables."""
        return {
            "workspace_id": self.workspace_id,
            "workflow": self.workflow,
            "title": self.title,
            "description": self.description,
            "project_id": self.project_id,
            "state": self.state,
            "paused": self.paused,
            "branch": self.branch,
            "created_by": self.created_by,
            "created_s": self.created_s,
            "created_ns": self.created_ns,
            "updated_s": self.updated_s,
            "ended_s": self.ended_s,
            "detail": self.detail,
            "version": self.version,
        }

    def progress(self) -> dict[str, Any]:
        """What a transition may change in the ``workflow_run`` record (the rest is set once)."""
        return {
            "state": self.state,
            "paused": self.paused,
            "updated_s": self.updated_s,
            "ended_s": self.ended_s,
            "detail": self.detail,
            "version": self.version,
        }

    @classmethod
    def of(
        cls, row: dict[str, Any], template: WorkflowDef, stages: list[dict[str, Any]], decisions: list[dict[str, Any]]
    ) -> Run:
        by_id = {str(s["stage_id"]): Stage.of(s) for s in stages}
        ordered = {s.id: by_id.get(s.id) or Stage(s.id, kind=s.kind) for s in template.stages}
        return cls(
            id=str(row["id"]),
            workspace_id=str(row["workspace_id"]),
            workflow=str(row["workflow"]),
            template=template,
            title=str(row.get("title", "")),
            description=str(row.get("description", "")),
            project_id=str(row.get("project_id", "")),
            state=str(row.get("state", RUNNING)),
            paused=bool(row.get("paused", False)),
            branch=str(row.get("branch", "")),
            created_by=str(row.get("created_by", "")),
            created_s=float(row.get("created_s", 0.0)),
            updated_s=float(row.get("updated_s", 0.0)),
            ended_s=float(row.get("ended_s", 0.0)),
            detail=str(row.get("detail", "")),
            version=int(row.get("version", 1)),
            stages=ordered,
            decisions=sorted((Decision.of(d) for d in decisions), key=lambda d: (d.at_s, d.round)),
        )
