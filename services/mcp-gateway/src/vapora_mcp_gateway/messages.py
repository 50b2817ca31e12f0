"""Protobuf encodings of the gateway's records."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from vapora.mcp.v1 import mcp_pb2
from vapora_mcp_gateway.models import CallRecord


def call_message(rec: CallRecord) -> mcp_pb2.McpCall:
    at = Timestamp()
    at.FromDatetime(rec.at)
    return mcp_pb2.McpCall(
        id=rec.id,
        server=rec.server,
        tool=rec.tool,
        workspace_id=rec.workspace_id,
        agent_id=rec.agent_id,
        task_id=rec.task_id,
        is_error=rec.is_error,
        latency_ms=rec.latency_ms,
        at=at,
        outcome=rec.outcome,
        via=rec.via,
        error=rec.error,
        job_id=rec.job_id,
    )
