"""Protobuf <-> store rows for executions, profiles and curve points."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.kg.v1 import kg_pb2
from vapora_core.bus.codec import timestamp
from vapora_core.errors import InvalidArgument
from vapora_core.store import Row
from vapora_knowledge_graph.learning import ProfileState

UNTYPED = "untyped"


def ts_seconds(ts: Timestamp) -> float | None:
    if ts.seconds == 0 and ts.nanos == 0:
        return None
    return ts.seconds + ts.nanos / 1e9


to_ts = timestamp


def day_of(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")


def check_unit(name: str, value: float) -> None:
    if math.isnan(value) or value < 0.0 or value > 1.0:
        raise InvalidArgument(f"{name} must be within [0, 1], got {value}")


def execution_row(e: kg_pb2.ExecutionRecorded, now_s: float) -> dict[str, Any]:
    """Validate ``e`` and flatten it into the stored record."""
    missing = [n for n in ("execution_id", "agent_id", "task_id", "workspace_id") if not getattr(e, n)]
    if missing:
        raise InvalidArgument(f"ExecutionRecorded without {', '.join(missing)}")
    check_unit("quality", e.quality)
    for name in ("latency_ms", "input_tokens", "output_tokens", "cost_cents", "steps", "tool_calls"):
        if getattr(e, name) < 0:
            raise InvalidArgument(f"{name} must not be negative, got {getattr(e, name)}")
    finished = ts_seconds(e.finished_at) or ts_seconds(e.started_at) or now_s
    started = ts_seconds(e.started_at) or finished
    return {
        "execution_id": e.execution_id,
        "job_id": e.job_id,
        "task_id": e.task_id,
        "workspace_id": e.workspace_id,
        "project_id": e.project_id,
        "agent_id": e.agent_id,
        "role": e.role,
        "task_type": e.task_type or UNTYPED,
        "success": e.success,
        "quality": e.quality,
        "latency_ms": e.latency_ms,
        "input_tokens": e.input_tokens,
        "output_tokens": e.output_tokens,
        "cost_cents": e.cost_cents,
        "provider": e.provider,
        "model": e.model,
        "started_s": started,
        "finished_s": finished,
        "day": day_of(finished),
        "error": e.error,
        "result": e.result[:4000],
        "attempt": e.attempt,
        "run_id": e.run_id,
        "steps": e.steps,
        "tool_calls": e.tool_calls,
        "stop_reason": e.stop_reason,
        "verified": e.verified,
        "verification": _evidence(e, "verification"),
        "artifacts": _evidence(e, "artifacts"),
        "corrected": False,
    }


def _evidence(e: kg_pb2.ExecutionRecorded, field: str) -> dict[str, Any] | None:
    """The execution's verification or artifacts as the store keeps them (absent: None)."""
    if not e.HasField(field):
        return None
    return json_format.MessageToDict(getattr(e, field), preserving_proto_field_name=True)


def _parsed(value: object, empty: Message) -> Any:
    """A stored verification or artifacts back as its message (None when there is none)."""
    if not isinstance(value, dict):
        return None
    out = type(empty)()
    json_format.ParseDict(value, out, ignore_unknown_fields=True)
    return out


def execution_from_row(row: Row) -> kg_pb2.ExecutionRecorded:
    return kg_pb2.ExecutionRecorded(
        execution_id=str(row["execution_id"]),
        job_id=row.get("job_id", ""),
        task_id=row.get("task_id", ""),
        workspace_id=row.get("workspace_id", ""),
        project_id=row.get("project_id", ""),
        agent_id=row.get("agent_id", ""),
        role=row.get("role", ""),
        task_type=row.get("task_type", ""),
        success=bool(row.get("success")),
        quality=float(row.get("quality", 0.0)),
        latency_ms=int(row.get("latency_ms", 0)),
        input_tokens=int(row.get("input_tokens", 0)),
        output_tokens=int(row.get("output_tokens", 0)),
        cost_cents=float(row.get("cost_cents", 0.0)),
        provider=row.get("provider", ""),
        model=row.get("model", ""),
        started_at=to_ts(float(row["started_s"])),
        finished_at=to_ts(float(row["finished_s"])),
        error=row.get("error", ""),
        result=row.get("result", ""),
        attempt=int(row.get("attempt", 0)),
        run_id=row.get("run_id", ""),
        steps=int(row.get("steps", 0)),
        tool_calls=int(row.get("tool_calls", 0)),
        stop_reason=row.get("stop_reason", ""),
        verified=bool(row.get("verified")),
        verification=_parsed(row.get("verification"), kg_pb2.ExecutionRecorded().verification),
        artifacts=_parsed(row.get("artifacts"), kg_pb2.ExecutionRecorded().artifacts),
    )


def profile_to_pb(p: ProfileState) -> kg_pb2.LearningProfile:
    successes, failures = p.recent.counts(p.updated_at_s) if p.recent.weight else (0.0, 0.0)
    return kg_pb2.LearningProfile(
        workspace_id=p.workspace_id,
        agent_id=p.agent_id,
        task_type=p.task_type,
        expertise=p.expertise,
        confidence=p.confidence,
        executions=p.executions,
        successes=p.successes,
        success_rate=p.success_rate,
        mean_quality=p.mean(p.quality_sum),
        mean_latency_ms=p.mean(p.latency_sum_ms),
        mean_cost_cents=p.mean(p.cost_sum_cents),
        updated_at=to_ts(p.updated_at_s),
        recent_successes=successes,
        recent_failures=failures,
    )


def curve_point(row: Row) -> kg_pb2.CurvePoint:
    n = int(row.get("executions") or 0)
    s = int(row.get("successes") or 0)
    q = float(row.get("quality_sum") or 0.0)
    return kg_pb2.CurvePoint(
        day=str(row["day"]),
        executions=n,
        successes=s,
        success_rate=s / n if n else 0.0,
        mean_quality=q / n if n else 0.0,
    )
