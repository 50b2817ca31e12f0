"""SurrealDB access for the ``mcp`` namespace: servers, the tool catalogue and the call log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from vapora_core.store import Store
from vapora_mcp_gateway.models import CallRecord, ToolInfo

NAMESPACE = "mcp"

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS mcp_server SCHEMALESS",
    "DEFINE TABLE IF NOT EXISTS tool SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS tool_server ON tool FIELDS server",
    "DEFINE TABLE IF NOT EXISTS call_log SCHEMALESS",
    "DEFINE FIELD IF NOT EXISTS workspace_id ON call_log TYPE string ASSERT $value != ''",
    "DEFINE INDEX IF NOT EXISTS call_log_workspace ON call_log FIELDS workspace_id, at_us",
)


def _record(row: dict[str, Any]) -> CallRecord:
    return CallRecord(
        id=str(row["id"]),
        server=row["server"],
        tool=row["tool"],
        workspace_id=row["workspace_id"],
        agent_id=row.get("agent_id", ""),
        task_id=row.get("task_id", ""),
        is_error=bool(row.get("is_error", False)),
        latency_ms=int(row.get("latency_ms", 0)),
        at=datetime.fromtimestamp(int(row["at_us"]) / 1_000_000, UTC),
        outcome=row.get("outcome", ""),
        via=row.get("via", ""),
        error=row.get("error", ""),
        job_id=row.get("job_id", ""),
    )


class Repository:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def save_tools(self, server: str, tools: list[ToolInfo]) -> None:
        rows = [
            {
                "server": server,
                "name": t.name,
                "description": t.description,
                "input_schema_json": json.dumps(t.input_schema, sort_keys=True),
            }
            for t in tools
        ]
        await self._store.execute(
            "BEGIN; DELETE tool WHERE server = $server; FOR $row IN $rows { CREATE tool CONTENT $row; }; COMMIT;",
            {"server": server, "rows": rows},
        )

    async def load_tools(self) -> list[ToolInfo]:
        rows = await self._store.query("SELECT * FROM tool ORDER BY server, name")
        return [
            ToolInfo(
                server=r["server"],
                name=r["name"],
                description=r.get("description", ""),
                input_schema=json.loads(r.get("input_schema_json") or '{"type": "object"}'),
            )
            for r in rows
        ]

    async def save_server_state(self, name: str, transport: str, up: bool, error: str) -> None:
        await self._store.execute(
            "UPSERT type::thing('mcp_server', $name) MERGE "
            "{ name: $name, transport: $transport, up: $up, last_error: $error, updated_at: time::now() }",
            {"name": name, "transport": transport, "up": up, "error": error[:500]},
        )

    async def server_states(self) -> list[dict[str, Any]]:
        return await self._store.query("SELECT * FROM mcp_server ORDER BY name")

    async def record_calls(self, records: list[CallRecord]) -> None:
        """Write call-log rows, many in one statement (the id of each is its call id)."""
        rows = [
            {
                "id": rec.id,
                "server": rec.server,
                "tool": rec.tool,
                "workspace_id": rec.workspace_id,
                "agent_id": rec.agent_id,
                "task_id": rec.task_id,
                "is_error": rec.is_error,
                "latency_ms": rec.latency_ms,
                "at_us": int(rec.at.timestamp() * 1_000_000),
                "outcome": rec.outcome,
                "via": rec.via,
                "error": rec.error,
                "job_id": rec.job_id,
            }
            for rec in records
        ]
        await self._store.execute("INSERT INTO call_log $rows RETURN NONE", {"rows": rows})

    async def list_calls(
        self, workspace_id: str, *, server: str = "", agent_id: str = "", task_id: str = "", limit: int = 100
    ) -> list[CallRecord]:
        rows = await self._store.query(
            "SELECT * FROM call_log WHERE workspace_id = $ws "
            "AND ($server = '' OR server = $server) AND ($agent = '' OR agent_id = $agent) "
            "AND ($task = '' OR task_id = $task) ORDER BY at_us DESC LIMIT $limit",
            {"ws": workspace_id, "server": server, "agent": agent_id, "task": task_id, "limit": limit},
        )
        return [_record(r) for r in rows]
