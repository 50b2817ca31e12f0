"""SurrealDB access of the ``coordinator`` namespace: one assignment record per task.

``assignment:<task_id>`` is the source of truth for "who holds this task": it is created
once (``INSERT IGNORE`` creates only what does not exist), and every later change is a conditional update inside
``BEGIN … COMMIT`` that only applies to the attempt / job the caller saw, so two workers
(or a restarted process) can never have one task assigned twice at once.

First assignments and finishes are written in batches (:meth:`AssignmentRepository.write_each`,
driven by ``batching.GroupCommit``): one transaction holding one ``INSERT IGNORE`` of the new
records, which creates exactly the records that do not exist yet and returns their task ids (so
"created once" holds per task), and one conditional ``UPDATE`` per finish. :meth:`create`
and :meth:`finish` are the same for one item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vapora_core.errors import Internal
from vapora_core.store import Row, Store
from vapora_swarm_coordinator import ranking

NAMESPACE = "coordinator"
ASSIGNED, DONE, FAILED, CANCELLED = "assigned", "done", "failed", "cancelled"

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS assignment SCHEMALESS",
    # no index on workspace_id: no query looks assignments up by workspace (ExplainAssignment reads
    # the record by id and compares its workspace_id), and every index costs engine CPU per write
    "DEFINE INDEX IF NOT EXISTS assignment_state ON assignment FIELDS state, agent_id",
)

_REASSIGN = """
BEGIN;
UPDATE type::thing('assignment', $id) MERGE $changes WHERE state = 'assigned' AND attempt = $attempt RETURN AFTER;
COMMIT;
"""
# A cancel: a task not assigned yet gets a cancelled record (so it never will be); an assigned
# one becomes cancelled; one cancelled before is touched again, so a redelivered cancel still
# learns which job to stop. Done and failed tasks stay as they are.
_CANCEL = """
BEGIN;
INSERT IGNORE INTO assignment $row RETURN NONE;
UPDATE type::thing('assignment', $id) SET state = 'cancelled', reason = $reason, finished_s = $at
  WHERE state IN ['assigned', 'cancelled'] AND workspace_id = $ws RETURN BEFORE;
COMMIT;
"""


def finish_update(task: str, job: str, changes: str, agent: str = "") -> str:
    """The conditional update of a finish as one SurrealQL expression (its task id, job id, changes
    and, when given, the agent that must hold the task, as expressions: variables): applied only
    while ``job`` holds the task. It returns only what its DONE event needs beyond the execution,
    and the workflow stage of the task if it is one's (NONE otherwise): every returned field costs
    the engine. :func:`holder_of` reads its result."""
    held_by = f" AND agent_id = {agent}" if agent else ""
    return (
        f"UPDATE type::thing('assignment', {task}) MERGE {changes} WHERE state = 'assigned' AND job_id = {job}"
        f"{held_by} RETURN VALUE [agent_id, workspace_id, task_type, workflow_run_id, stage_id]"
    )


_FINISH_ONE = finish_update("$i{i}", "$j{i}", "$c{i}") + ";"
_FINISH_ONE_HELD = finish_update("$i{i}", "$j{i}", "$c{i}", "$a{i}") + ";"


@dataclass(frozen=True, slots=True)
class Create:
    """Store ``row`` as its task's first assignment (result: whether it was created)."""

    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Holder:
    """Who held a task when its job finished, and the workflow stage it is the task of (if any)."""

    agent_id: str
    workspace_id: str
    task_type: str
    workflow_run_id: str = ""
    stage_id: str = ""

    @classmethod
    def of(cls, row: Row) -> Holder:
        return cls(
            str(row.get("agent_id", "")),
            str(row.get("workspace_id", "")),
            str(row.get("task_type", "")),
            str(row.get("workflow_run_id") or ""),
            str(row.get("stage_id") or ""),
        )

    def fields(self) -> dict[str, str]:
        return {"agent_id": self.agent_id, "workspace_id": self.workspace_id, "task_type": self.task_type}


@dataclass(frozen=True, slots=True)
class Finish:
    """Apply ``changes`` if ``job_id`` still holds the task (result: its :class:`Holder`, or None);
    with ``agent_id``, only if that agent holds it, too (the execution's agent, whose name a workflow
    stage's transition records before the finish has answered)."""

    task_id: str
    job_id: str
    changes: dict[str, Any]
    agent_id: str = ""


Write = Create | Finish
# what a created record returns is its task id as a plain string: a record id would cost the
# engine and the decoder more, for every record of every batch
_INSERT = "INSERT IGNORE INTO assignment $rows RETURN VALUE task_id;"
# finished_s is set by a finish and a cancel; a task failed with no agent, or after its last
# attempt, has only assigned_s (the time it failed)
_DELETE_FINISHED = (
    "DELETE assignment WHERE state IN ['done', 'failed', 'cancelled'] AND (finished_s ?? assigned_s) < $cutoff"
    " RETURN VALUE $before.id"
)


def no_fence() -> None:
    """The fence of a coordinator that needs none (a test's, a tool's)."""


class AssignmentRepository:
    """``fence`` is called before every write and raises to refuse it: the coordinator lease's
    :meth:`~vapora_swarm_coordinator.lease.Lease.check`, so a coordinator that lost its lease writes nothing."""

    def __init__(self, store: Store, *, fence: Callable[[], None] = no_fence) -> None:
        self.store = store
        self.fence = fence

    async def get(self, task_id: str) -> Row | None:
        return await self.store.one("SELECT * FROM ONLY type::thing('assignment', $id)", {"id": task_id})

    async def create(self, row: dict[str, Any]) -> bool:
        """Store a first assignment; False when the task already has one."""
        return bool((await self.write_each([Create(row)]))[0])

    async def write_each(self, items: list[Write]) -> list[bool | Holder | None]:
        """Every item in one transaction; one result per item, in order.

        A task created twice in ``items``: the first row wins, the second reports False.
        """
        self.fence()
        first: dict[str, dict[str, Any]] = {}
        statements: list[str] = []
        vars_: dict[str, Any] = {}
        for item in items:
            if isinstance(item, Create):
                first.setdefault(str(item.row["task_id"]), item.row)
        if first:
            vars_["rows"] = [{**row, "id": task_id} for task_id, row in first.items()]
            statements.append(_INSERT)
        finishes = [item for item in items if isinstance(item, Finish)]
        for i, f in enumerate(finishes):
            vars_[f"i{i}"], vars_[f"j{i}"], vars_[f"c{i}"] = f.task_id, f.job_id, f.changes
            if f.agent_id:
                vars_[f"a{i}"] = f.agent_id
            statements.append((_FINISH_ONE_HELD if f.agent_id else _FINISH_ONE).format(i=i))
        results = await self.store.execute("BEGIN;\n" + "\n".join(statements) + "\nCOMMIT;", vars_)
        if len(results) != len(statements):
            raise Internal(f"store {self.store.namespace}: {len(results)} results for {len(statements)} statements")
        created: set[str] = set()
        if first:
            inserted = results.pop(0)
            created = {r for r in inserted if isinstance(r, str)} if isinstance(inserted, list) else set()
        finished = iter(holder_of(res) for res in results)
        out: list[bool | Holder | None] = []
        for item in items:
            if isinstance(item, Create):
                task_id = str(item.row["task_id"])
                out.append(task_id in created and first[task_id] is item.row)
            else:
                out.append(next(finished))
        return out

    async def _conditional(self, sql: str, vars_: dict[str, Any]) -> Row | None:
        self.fence()
        results = await self.store.execute(sql, vars_)
        rows = [r for res in results if isinstance(res, list) for r in res]
        return rows[0] if rows else None

    async def reassign(self, task_id: str, attempt: int, changes: dict[str, Any]) -> Row | None:
        """Apply ``changes`` only if the task is still assigned at ``attempt``."""
        return await self._conditional(_REASSIGN, {"id": task_id, "attempt": attempt, "changes": changes})

    async def finish(self, task_id: str, job_id: str, changes: dict[str, Any]) -> Holder | None:
        """Apply ``changes`` only if ``job_id`` still holds the task; who held it, or None."""
        result = (await self.write_each([Finish(task_id, job_id, changes)]))[0]
        return result if isinstance(result, Holder) else None

    async def cancel(self, task_id: str, workspace_id: str, reason: str, at_s: float) -> Row | None:
        """Cancel the task of ``workspace_id``; the record as it was before (None: done, failed,
        or another workspace's). A task with no record yet gets a cancelled one."""
        row = {
            "id": task_id,
            "task_id": task_id,
            "workspace_id": workspace_id,
            "task_type": "",
            "agent_id": "",
            "job_id": "",
            "attempt": 0,
            "state": CANCELLED,
            "ranking": ranking.EMPTY,
            "reason": reason,
            "assigned_s": at_s,
        }
        vars_ = {"row": row, "id": task_id, "ws": workspace_id, "reason": reason, "at": at_s}
        return await self._conditional(_CANCEL, vars_)

    async def active(self) -> list[Row]:
        return await self.store.query("SELECT * FROM assignment WHERE state = 'assigned'")

    async def held_by(self, agent_id: str) -> list[Row]:
        return await self.store.query(
            "SELECT * FROM assignment WHERE state = 'assigned' AND agent_id = $a", {"a": agent_id}
        )

    async def delete_finished_before(self, cutoff_s: float) -> int:
        """Delete the records of tasks that are over (done, failed, cancelled) and were last changed
        before ``cutoff_s``; how many. Assigned tasks are kept however old they are."""
        self.fence()
        deleted = await self.store.query(_DELETE_FINISHED, {"cutoff": cutoff_s})
        return len(deleted)

    async def overdue(self, cutoff_s: float) -> list[Row]:
        return await self.store.query(
            "SELECT * FROM assignment WHERE state = 'assigned' AND assigned_s < $c", {"c": cutoff_s}
        )


def holder_of(result: Any) -> Holder | None:
    """A finish's result (:func:`finish_update`): ``[[agent, workspace, type, run, stage]]`` when it applied (run
    and stage NONE for a task of no workflow), ``[]`` when not."""
    if isinstance(result, list) and result and isinstance(result[0], list) and len(result[0]) == 5:
        agent, workspace, task_type, run_id, stage_id = result[0]
        return Holder(str(agent), str(workspace), str(task_type), run_id or "", stage_id or "")
    return None
