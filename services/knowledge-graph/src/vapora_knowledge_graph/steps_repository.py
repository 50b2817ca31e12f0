"""SurrealDB access of the ``kg`` namespace for transcripts: steps of runs, and LLM usage.

Records: ``step:[run_id, index]`` (one step of a run; the run's execution holds the same
``run_id``), ``usage:<key>`` (one ``llm.usage`` event, keyed by its content, linked to its
execution, run and task through the request id ``<run_id>.<index>``). Writes are upserts by
record id, so a redelivered event changes nothing.
"""

from __future__ import annotations

from typing import Any

from vapora_core.store import Row, Store

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS step SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS step_run ON step FIELDS run_id, step_index",
    "DEFINE INDEX IF NOT EXISTS step_task ON step FIELDS task_id, at_s",
    "DEFINE INDEX IF NOT EXISTS step_execution ON step FIELDS execution_id, at_s",
    "DEFINE TABLE IF NOT EXISTS usage SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS usage_execution ON usage FIELDS execution_id",
    "DEFINE INDEX IF NOT EXISTS usage_task ON usage FIELDS task_id",
    "DEFINE INDEX IF NOT EXISTS step_at ON step FIELDS at_s",
    "DEFINE INDEX IF NOT EXISTS usage_at ON usage FIELDS at_s",
)


class StepsRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def put_step(self, row: dict[str, Any]) -> None:
        await self.store.execute("UPSERT type::thing('step', [$r.run_id, $r.step_index]) CONTENT $r", {"r": row})

    async def put_usage(self, key: str, row: dict[str, Any]) -> None:
        await self.store.execute("UPSERT type::thing('usage', $k) CONTENT $r", {"k": key, "r": row})

    async def steps(self, workspace_id: str, run_id: str, after: int, limit: int) -> list[Row]:
        return await self.store.query(
            "SELECT * FROM step WHERE run_id = $r AND workspace_id = $ws AND step_index > $after "
            "ORDER BY step_index LIMIT $limit",
            {"r": run_id, "ws": workspace_id, "after": after, "limit": limit},
        )

    async def newest_run(self, workspace_id: str, *, task_id: str = "", execution_id: str = "") -> str:
        """The run whose newest step is the newest of the task (or the execution); "" when none."""
        field, value = ("execution_id", execution_id) if execution_id else ("task_id", task_id)
        row = await self.store.one(
            f"SELECT run_id, at_s FROM step WHERE {field} = $v AND workspace_id = $ws "  # noqa: S608 - fixed field
            "ORDER BY at_s DESC LIMIT 1",
            {"v": value, "ws": workspace_id},
        )
        return str(row["run_id"]) if row else ""

    async def cost(self, workspace_id: str, *, task_id: str = "", execution_id: str = "") -> float:
        """LLM spend linked to the execution (every run of it), or to the task."""
        field, value = ("execution_id", execution_id) if execution_id else ("task_id", task_id)
        row = await self.store.one(
            f"SELECT math::sum(cost_cents) AS cents FROM usage WHERE {field} = $v AND workspace_id = $ws "  # noqa: S608
            "GROUP ALL",
            {"v": value, "ws": workspace_id},
        )
        return float(row["cents"]) if row and row.get("cents") is not None else 0.0

    async def delete_older_than(self, cutoff_s: float) -> int:
        """Delete steps and usage from before ``cutoff_s``; how many records went."""
        steps = await self.store.query("DELETE step WHERE at_s < $cutoff RETURN BEFORE", {"cutoff": cutoff_s})
        usage = await self.store.query("DELETE usage WHERE at_s < $cutoff RETURN BEFORE", {"cutoff": cutoff_s})
        return len(steps) + len(usage)
