"""SurrealDB access of the ``coordinator`` namespace: one assignment record per task.

``assignment:<task_id>`` is the source of truth for "who holds this task": it is created
once (CREATE fails when it exists), and every later change is a conditional update inside
``BEGIN … COMMIT`` that only applies to the attempt / job the caller saw, so two workers
(or a restarted process) can never have one task assigned twice at once.
"""

from __future__ import annotations

from typing import Any

from vapora_core.errors import InvalidArgument
from vapora_core.store import Row, Store

NAMESPACE = "coordinator"
ASSIGNED, DONE, FAILED = "assigned", "done", "failed"

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS assignment SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS assignment_state ON assignment FIELDS state, agent_id",
    "DEFINE INDEX IF NOT EXISTS assignment_ws ON assignment FIELDS workspace_id",
)

_REASSIGN = """
BEGIN;
UPDATE type::thing('assignment', $id) MERGE $changes WHERE state = 'assigned' AND attempt = $attempt RETURN AFTER;
COMMIT;
"""
_FINISH = """
BEGIN;
UPDATE type::thing('assignment', $id) MERGE $changes WHERE state = 'assigned' AND job_id = $job RETURN AFTER;
COMMIT;
"""


class AssignmentRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, task_id: str) -> Row | None:
        return await self.store.one("SELECT * FROM ONLY type::thing('assignment', $id)", {"id": task_id})

    async def create(self, row: dict[str, Any]) -> bool:
        """Store a first assignment; False when the task already has one."""
        try:
            await self.store.execute(
                "CREATE type::thing('assignment', $row.task_id) CONTENT $row RETURN NONE", {"row": row}
            )
        except InvalidArgument:
            if await self.get(row["task_id"]) is not None:
                return False
            raise
        return True

    async def _conditional(self, sql: str, vars_: dict[str, Any]) -> Row | None:
        results = await self.store.execute(sql, vars_)
        rows = [r for res in results if isinstance(res, list) for r in res]
        return rows[0] if rows else None

    async def reassign(self, task_id: str, attempt: int, changes: dict[str, Any]) -> Row | None:
        """Apply ``changes`` only if the task is still assigned at ``attempt``."""
        return await self._conditional(_REASSIGN, {"id": task_id, "attempt": attempt, "changes": changes})

    async def finish(self, task_id: str, job_id: str, changes: dict[str, Any]) -> Row | None:
        """Apply ``changes`` only if ``job_id`` still holds the task."""
        return await self._conditional(_FINISH, {"id": task_id, "job": job_id, "changes": changes})

    async def active(self) -> list[Row]:
        return await self.store.query("SELECT * FROM assignment WHERE state = 'assigned'")

    async def held_by(self, agent_id: str) -> list[Row]:
        return await self.store.query(
            "SELECT * FROM assignment WHERE state = 'assigned' AND agent_id = $a", {"a": agent_id}
        )

    async def overdue(self, cutoff_s: float) -> list[Row]:
        return await self.store.query(
            "SELECT * FROM assignment WHERE state = 'assigned' AND assigned_s < $c", {"c": cutoff_s}
        )
