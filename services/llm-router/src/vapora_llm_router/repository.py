"""The usage ledger in the ``router`` namespace: one row per settled request.

Every row carries its workspace, role, task type, provider and model, so spend can be
summed along any of them; budget windows are rebuilt from it at start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from vapora_core.store import Store

NAMESPACE = "router"

SCHEMA = (
    "DEFINE TABLE IF NOT EXISTS usage SCHEMAFULL",
    "DEFINE FIELD IF NOT EXISTS request_id ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS workspace_id ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS task_id ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS agent_id ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS role ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS task_type ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS provider ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS model ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS input_tokens ON usage TYPE int",
    "DEFINE FIELD IF NOT EXISTS output_tokens ON usage TYPE int",
    "DEFINE FIELD IF NOT EXISTS cost_cents ON usage TYPE float",
    "DEFINE FIELD IF NOT EXISTS success ON usage TYPE bool",
    "DEFINE FIELD IF NOT EXISTS fallback ON usage TYPE bool",
    "DEFINE FIELD IF NOT EXISTS latency_ms ON usage TYPE int",
    "DEFINE FIELD IF NOT EXISTS error ON usage TYPE string",
    "DEFINE FIELD IF NOT EXISTS at ON usage TYPE datetime",
    "DEFINE INDEX IF NOT EXISTS usage_role_at ON usage FIELDS role, at",
    "DEFINE INDEX IF NOT EXISTS usage_workspace ON usage FIELDS workspace_id, at",
)


class UsageRepository:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self._store.execute("INSERT INTO usage $rows", {"rows": list(rows)})

    async def spent_since(self, since: datetime) -> dict[str, float]:
        """Spend per role since ``since``."""
        rows = await self._store.query(
            "SELECT role, math::sum(cost_cents) AS cents FROM usage WHERE at >= $since GROUP BY role",
            {"since": since},
        )
        return {str(r["role"]): float(r.get("cents") or 0.0) for r in rows}

    async def spend_by(self, dimension: str, since: datetime) -> dict[str, float]:
        """Spend since ``since`` grouped by provider, model, role, task_type or workspace_id."""
        if dimension not in ("provider", "model", "role", "task_type", "workspace_id"):
            raise ValueError(f"cannot group spend by {dimension}")
        rows = await self._store.query(
            f"SELECT {dimension} AS key, math::sum(cost_cents) AS cents FROM usage "  # noqa: S608 - whitelisted
            f"WHERE at >= $since GROUP BY {dimension}",
            {"since": since},
        )
        return {str(r["key"]): float(r.get("cents") or 0.0) for r in rows}

    async def spend_of(self, workspace_id: str, since: datetime) -> list[dict[str, Any]]:
        """A workspace's calls per provider and model since ``since``: calls, tokens and cents,
        the most spent first."""
        rows = await self._store.query(
            "SELECT provider, model, count() AS calls, math::sum(input_tokens) AS input_tokens, "
            "math::sum(output_tokens) AS output_tokens, math::sum(cost_cents) AS cost_cents "
            "FROM usage WHERE workspace_id = $ws AND at >= $since GROUP BY provider, model",
            {"ws": workspace_id, "since": since},
        )
        spend = [
            {
                "provider": str(r["provider"]),
                "model": str(r["model"]),
                "calls": int(r.get("calls") or 0),
                "input_tokens": int(r.get("input_tokens") or 0),
                "output_tokens": int(r.get("output_tokens") or 0),
                "cost_cents": float(r.get("cost_cents") or 0.0),
            }
            for r in rows
        ]
        return sorted(spend, key=lambda s: (-s["cost_cents"], -s["calls"], s["provider"], s["model"]))
