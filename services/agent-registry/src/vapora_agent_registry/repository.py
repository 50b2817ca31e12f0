"""The registry's SurrealDB namespace (``registry``): one ``agent`` record per agent id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError

from vapora.agents.v1 import agents_pb2
from vapora_core.store import Store

NAMESPACE = "registry"

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS agent SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS agent_workspace ON agent FIELDS workspace_id",
    "DEFINE INDEX IF NOT EXISTS agent_role ON agent FIELDS role",
)


def to_doc(agent: agents_pb2.Agent, last_seen: float) -> dict[str, Any]:
    return {
        "key": agent.id,
        "doc": {
            "workspace_id": agent.workspace_id,
            "role": agent.role,
            "status": agents_pb2.AgentStatus.Name(agent.status),
            "runtime_id": agent.runtime_id,
            "last_seen": last_seen,
            "agent": MessageToDict(agent, preserving_proto_field_name=True),
        },
    }


class AgentRepository:
    """Reads and writes agents; the in-memory :class:`Registry` is the source of truth."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def load_all(self) -> tuple[list[tuple[agents_pb2.Agent, float]], list[str]]:
        """Every stored agent, and the ids of records that no longer parse (skipped)."""
        rows = await self._store.query("SELECT * FROM agent")
        agents: list[tuple[agents_pb2.Agent, float]] = []
        broken: list[str] = []
        for row in rows:
            try:
                agent = ParseDict(row.get("agent") or {}, agents_pb2.Agent(), ignore_unknown_fields=True)
            except ParseError:
                broken.append(str(row.get("id")))
                continue
            if agent.id:
                agents.append((agent, float(row.get("last_seen") or 0.0)))
        return agents, broken

    async def save(self, upserts: Sequence[tuple[agents_pb2.Agent, float]], removed: Sequence[str]) -> None:
        """Write ``upserts`` and delete ``removed`` in one transaction."""
        if not upserts and not removed:
            return
        await self._store.execute(
            "BEGIN TRANSACTION;"
            "FOR $d IN $docs { UPSERT type::thing('agent', $d.key) CONTENT $d.doc; };"
            "FOR $i IN $ids { DELETE type::thing('agent', $i); };"
            "COMMIT TRANSACTION;",
            {"docs": [to_doc(a, seen) for a, seen in upserts], "ids": list(removed)},
        )
