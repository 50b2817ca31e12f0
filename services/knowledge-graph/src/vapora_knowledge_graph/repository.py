"""SurrealDB access of the ``kg`` namespace: executions as a graph, profiles, curves.

Records: ``agent:<id>``, ``task:<id>``, ``workspace:<id>``, ``execution:<id>``,
``profile:[workspace, agent, type]``, ``curve:[workspace, agent, type, day]`` (workspace "" for the
fleet-wide profile and curve; an execution counts in both, the fleet's and its workspace's). Edges:
``agent->executed->execution``, ``execution->for_task->task``, ``task->in_workspace->workspace``.
An execution and its profile/curve update are written in one transaction, so a crash
cannot count an execution without storing it, nor store it without counting it. An
unverified execution is stored and not counted (:meth:`KgRepository.record` with no
profile); a person's feedback on it counts it then (:meth:`KgRepository.correct`, ``dn = 1``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vapora_core.errors import InvalidArgument
from vapora_core.store import Row, Store
from vapora_knowledge_graph.learning import RECENT_TAU_S, DecayedSums, ProfileState

NAMESPACE = "kg"

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS execution SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS execution_ws ON execution FIELDS workspace_id, finished_s",
    "DEFINE INDEX IF NOT EXISTS execution_agent ON execution FIELDS agent_id, task_type, finished_s",
    "DEFINE INDEX IF NOT EXISTS execution_finished ON execution FIELDS finished_s",
    "DEFINE INDEX IF NOT EXISTS execution_task ON execution FIELDS task_id, finished_s",
    "DEFINE INDEX IF NOT EXISTS execution_run ON execution FIELDS run_id",
    "DEFINE TABLE IF NOT EXISTS profile SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS profile_type ON profile FIELDS workspace_id, task_type",
    "DEFINE TABLE IF NOT EXISTS curve SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS curve_key ON curve FIELDS workspace_id, agent_id, task_type, day",
)

_STORE = """
CREATE type::thing('execution', $e.execution_id) CONTENT $e;
UPSERT type::thing('agent', $e.agent_id) SET agent_id = $e.agent_id, role = $e.role;
UPSERT type::thing('task', $e.task_id) SET task_id = $e.task_id, workspace_id = $e.workspace_id,
    task_type = $e.task_type, project_id = $e.project_id;
UPSERT type::thing('workspace', $e.workspace_id) SET workspace_id = $e.workspace_id;
LET $a = type::thing('agent', $e.agent_id);
LET $x = type::thing('execution', $e.execution_id);
LET $t = type::thing('task', $e.task_id);
LET $w = type::thing('workspace', $e.workspace_id);
RELATE $a->executed->$x SET at = $e.finished_s;
RELATE $x->for_task->$t;
IF (SELECT VALUE id FROM in_workspace WHERE in = $t AND out = $w LIMIT 1) == [] { RELATE $t->in_workspace->$w };
"""


def _count(i: int) -> str:
    """Profile ``$p{i}`` and its curve day counted once more (``[workspace, agent, type]``: the
    fleet-wide profile has workspace "")."""
    p = f"$p{i}"
    return f"""
UPSERT type::thing('profile', [{p}.workspace_id, {p}.agent_id, {p}.task_type]) CONTENT {p};
UPSERT type::thing('curve', [{p}.workspace_id, {p}.agent_id, {p}.task_type, $day]) SET
    workspace_id = {p}.workspace_id, agent_id = {p}.agent_id, task_type = {p}.task_type, day = $day,
    executions += $dn, successes += $ds, quality_sum += $dq;
"""


def _profiles(profiles: Sequence[ProfileState]) -> dict[str, Any]:
    return {f"p{i}": profile_to_row(p) for i, p in enumerate(profiles)}


def profile_to_row(p: ProfileState) -> dict[str, Any]:
    return {
        "workspace_id": p.workspace_id,
        "agent_id": p.agent_id,
        "task_type": p.task_type,
        "executions": p.executions,
        "successes": p.successes,
        "quality_sum": p.quality_sum,
        "latency_sum_ms": p.latency_sum_ms,
        "cost_sum_cents": p.cost_sum_cents,
        "anchor_s": p.sums.anchor_s,
        "weighted_success": p.sums.weighted_success,
        "weight": p.sums.weight,
        "recent_anchor_s": p.recent.anchor_s,
        "recent_weighted_success": p.recent.weighted_success,
        "recent_weight": p.recent.weight,
        "updated_at_s": p.updated_at_s,
    }


def profile_from_row(row: Row) -> ProfileState:
    return ProfileState(
        agent_id=str(row["agent_id"]),
        task_type=str(row["task_type"]),
        sums=DecayedSums(
            anchor_s=float(row["anchor_s"]),
            weighted_success=float(row["weighted_success"]),
            weight=float(row["weight"]),
        ),
        recent=DecayedSums(
            anchor_s=float(row.get("recent_anchor_s") or 0.0),
            weighted_success=float(row.get("recent_weighted_success") or 0.0),
            weight=float(row.get("recent_weight") or 0.0),
            tau_s=RECENT_TAU_S,
        ),
        executions=int(row["executions"]),
        successes=int(row["successes"]),
        quality_sum=float(row["quality_sum"]),
        latency_sum_ms=float(row["latency_sum_ms"]),
        cost_sum_cents=float(row["cost_sum_cents"]),
        updated_at_s=float(row.get("updated_at_s") or 0.0),
        workspace_id=str(row.get("workspace_id") or ""),
    )


class KgRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def profile(self, agent_id: str, task_type: str, workspace_id: str = "") -> ProfileState | None:
        """The fleet-wide profile (``workspace_id`` ""), or one workspace's."""
        row = await self.store.one(
            "SELECT * FROM ONLY type::thing('profile', [$ws, $a, $t])",
            {"ws": workspace_id, "a": agent_id, "t": task_type},
        )
        return profile_from_row(row) if row else None

    async def profiles(self, agent_ids: Sequence[str], task_type: str, workspace_id: str = "") -> list[ProfileState]:
        clauses: list[str] = ["workspace_id = $ws"]
        vars_: dict[str, Any] = {"ws": workspace_id}
        if agent_ids:
            clauses.append("agent_id IN $agents")
            vars_["agents"] = list(agent_ids)
        if task_type:
            clauses.append("task_type = $t")
            vars_["t"] = task_type
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM profile{where}"  # noqa: S608 - fixed clauses; values are bound vars
        rows = await self.store.query(sql, vars_)
        return [profile_from_row(r) for r in rows]

    async def execution(self, execution_id: str) -> Row | None:
        return await self.store.one("SELECT * FROM ONLY type::thing('execution', $id)", {"id": execution_id})

    async def record(self, execution: dict[str, Any], profiles: Sequence[ProfileState] = ()) -> bool:
        """Store ``execution`` and count it in the updated ``profiles`` (the fleet's and its
        workspace's; none: an execution that is not counted), in one transaction; False when it was
        already stored."""
        counts = "".join(_count(i) for i in range(len(profiles)))
        try:
            await self.store.execute(
                f"BEGIN;{_STORE}{counts}COMMIT;",
                {
                    "e": execution,
                    **_profiles(profiles),
                    "day": execution["day"],
                    "dn": 1,
                    "ds": 1 if execution["success"] else 0,
                    "dq": execution["quality"],
                },
            )
        except InvalidArgument as exc:
            if await self.execution(execution["execution_id"]) is not None:
                return False
            raise InvalidArgument(f"cannot store execution {execution['execution_id']}: {exc}") from exc
        return True

    async def correct(
        self,
        execution_id: str,
        changes: dict[str, Any],
        profiles: Sequence[ProfileState],
        *,
        day: str,
        ds: int,
        dq: float,
        dn: int = 0,
    ) -> None:
        """Apply ``changes`` to the execution and the ``profiles``; each one's curve day moves by
        ``dn`` executions (1: the execution is counted now), ``ds`` successes and ``dq`` quality."""
        counts = "".join(_count(i) for i in range(len(profiles)))
        await self.store.execute(
            f"BEGIN;UPDATE type::thing('execution', $id) MERGE $changes;{counts}COMMIT;",
            {"id": execution_id, "changes": changes, **_profiles(profiles), "day": day, "ds": ds, "dq": dq, "dn": dn},
        )

    async def curve(self, agent_id: str, task_type: str, since_day: str, workspace_id: str = "") -> list[Row]:
        return await self.store.query(
            "SELECT * FROM curve WHERE workspace_id = $ws AND agent_id = $a AND task_type = $t AND day >= $d"
            " ORDER BY day",
            {"ws": workspace_id, "a": agent_id, "t": task_type, "d": since_day},
        )

    async def executions(
        self,
        *,
        workspace_id: str,
        agent_id: str,
        task_type: str,
        task_id: str,
        since_s: float | None,
        until_s: float | None,
        limit: int,
    ) -> list[Row]:
        clauses = ["workspace_id = $ws"]
        vars_: dict[str, Any] = {"ws": workspace_id, "limit": limit}
        for name, value in (("agent_id", agent_id), ("task_type", task_type), ("task_id", task_id)):
            if value:
                clauses.append(f"{name} = ${name}")
                vars_[name] = value
        if since_s is not None:
            clauses.append("finished_s >= $since")
            vars_["since"] = since_s
        if until_s is not None:
            clauses.append("finished_s < $until")
            vars_["until"] = until_s
        where = " AND ".join(clauses)  # fixed clauses; values are bound vars
        sql = f"SELECT * FROM execution WHERE {where} ORDER BY finished_s DESC LIMIT $limit"  # noqa: S608
        return await self.store.query(sql, vars_)

    async def newest_of_task(self, workspace_id: str, task_id: str) -> Row | None:
        """The task's execution that finished last, of those in ``workspace_id``; None if it has none."""
        rows = await self.executions(
            workspace_id=workspace_id,
            agent_id="",
            task_type="",
            task_id=task_id,
            since_s=None,
            until_s=None,
            limit=1,
        )
        return rows[0] if rows else None

    async def delete_older_than(self, cutoff_s: float) -> int:
        rows = await self.store.query("DELETE execution WHERE finished_s < $cutoff RETURN BEFORE", {"cutoff": cutoff_s})
        return len(rows)
