"""Transcripts: the steps of agents' runs, ``GetSteps``, and LLM usage linked to executions.

- Steps (``steps.>``, consumer ``kg-steps``) are stored per run, ``step:[run_id, index]``.
  A run is one delivery of a job; the execution the run ends with carries its ``run_id``.
- The transcript of an execution is its run's steps only: a job redelivered after its runtime
  died has a lost run whose steps stay stored under their own run id, and the execution links
  to the run that finished. ``GetSteps`` by task is the transcript of the task's newest
  execution, or, while none is recorded yet, of the run in progress (its newest steps).
- Usage (``llm.usage.>``, consumer ``kg-llm-usage``): each call's spend, linked through the
  request id ``<run_id>.<index>`` that the runtime gives each model turn, so the cost of an
  execution counts every run of it (a lost run was paid for too), and the cost of a task every
  execution. Usage of callers other than the runtime is linked to its task only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from vapora.kg.v1 import kg_pb2
from vapora.llm.v1 import llm_pb2
from vapora_core.bus.codec import timestamp
from vapora_core.errors import InvalidArgument
from vapora_core.steps import step_content
from vapora_core.store import Row
from vapora_knowledge_graph import codec
from vapora_knowledge_graph.repository import KgRepository
from vapora_knowledge_graph.steps_repository import StepsRepository

DEFAULT_PAGE = 100
MAX_PAGE = 1000
KINDS = ("model", "tool")


def step_row(s: kg_pb2.StepRecorded) -> dict[str, Any]:
    """Validate ``s`` and flatten it into the stored record. Numbers and texts were held to the
    event rules by the bus (``vapora_core.bus.validate``); here: what makes a step one of a run."""
    missing = [n for n in ("execution_id", "run_id", "task_id", "workspace_id", "agent_id") if not getattr(s, n)]
    if missing:
        raise InvalidArgument(f"StepRecorded without {', '.join(missing)}")
    what = f"step {s.run_id}.{s.index}"
    if not s.run_id.startswith(f"{s.execution_id}."):
        raise InvalidArgument(f"{what}: run_id is not a run of execution {s.execution_id}")
    if s.index < 1:
        raise InvalidArgument(f"{what}: index must be 1 or more")
    if s.kind not in KINDS:
        raise InvalidArgument(f"{what}: kind must be model or tool, got {s.kind!r}")
    at = codec.ts_seconds(s.at) or 0.0
    return {
        "execution_id": s.execution_id,
        "run_id": s.run_id,
        "job_id": s.job_id,
        "task_id": s.task_id,
        "workspace_id": s.workspace_id,
        "agent_id": s.agent_id,
        "task_type": s.task_type,
        "step_index": s.index,
        "kind": s.kind,
        "at_s": at,
        **step_content(s),
    }


def step_from_row(row: Row) -> kg_pb2.StepRecorded:
    step = kg_pb2.StepRecorded(
        execution_id=str(row["execution_id"]),
        run_id=str(row["run_id"]),
        index=int(row["step_index"]),
        at=timestamp(float(row.get("at_s") or 0.0)),
        calls=[kg_pb2.RequestedCall(**c) for c in row.get("calls") or []],
    )
    for name in ("job_id", "task_id", "workspace_id", "agent_id", "task_type", "kind", "provider", "model"):
        setattr(step, name, str(row.get(name) or ""))
    for name in ("finish_reason", "text", "tool", "call_id", "arguments_json", "result", "error"):
        setattr(step, name, str(row.get(name) or ""))
    for name in ("latency_ms", "input_tokens", "output_tokens"):
        setattr(step, name, int(row.get(name) or 0))
    step.cost_cents = float(row.get("cost_cents") or 0.0)
    step.is_error, step.truncated = bool(row.get("is_error")), bool(row.get("truncated"))
    return step


def run_of_request(request_id: str) -> tuple[str, str]:
    """(execution id, run id) of a request id ``<execution_id>.<delivery>.<index>``; ("", "") otherwise."""
    parts = request_id.split(".")
    if len(parts) == 3 and parts[0] and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], f"{parts[0]}.{parts[1]}"
    return "", ""


def usage_row(u: llm_pb2.LlmUsage) -> tuple[str, dict[str, Any]]:
    """(record key, record) of one usage event; the key is its content, so a redelivery is the same record."""
    execution_id, run_id = run_of_request(u.request_id)
    key = hashlib.sha256(u.SerializeToString(deterministic=True)).hexdigest()[:40]
    return key, {
        "request_id": u.request_id,
        "execution_id": execution_id,
        "run_id": run_id,
        "task_id": u.task_id,
        "workspace_id": u.workspace_id,
        "agent_id": u.agent_id,
        "role": u.role,
        "provider": u.provider,
        "model": u.model,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cost_cents": u.cost_cents,
        "success": u.success,
        "at_s": codec.ts_seconds(u.at) or 0.0,
    }


def page_token(run_id: str, after: int) -> str:
    return base64.urlsafe_b64encode(f"{run_id}\n{after}".encode()).decode().rstrip("=")


def parse_page_token(token: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        run_id, _, after = raw.partition("\n")
        if not run_id or not after.isdigit():
            raise ValueError(raw)
        return run_id, int(after)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument(f"page_token {token!r} is not a token GetSteps gave out") from None


class Transcripts:
    def __init__(self, steps: StepsRepository, executions: KgRepository) -> None:
        self._steps = steps
        self._executions = executions

    async def record_step(self, s: kg_pb2.StepRecorded) -> None:
        await self._steps.put_step(step_row(s))

    async def record_usage(self, u: llm_pb2.LlmUsage) -> None:
        key, row = usage_row(u)
        await self._steps.put_usage(key, row)

    async def sweep(self, cutoff_s: float) -> int:
        """Retention: transcripts and usage go with the executions they belong to."""
        return await self._steps.delete_older_than(cutoff_s)

    async def _execution(self, req: kg_pb2.GetStepsRequest) -> Row | None:
        """The finished execution the request names: by id, or the task's newest."""
        if req.execution_id:
            row = await self._executions.execution(req.execution_id)
        else:
            row = await self._executions.newest_of_task(req.workspace_id, req.task_id)
        if row is None or row.get("workspace_id") != req.workspace_id:
            return None
        if req.task_id and row.get("task_id") != req.task_id:
            return None
        return row

    async def get_steps(self, req: kg_pb2.GetStepsRequest) -> kg_pb2.GetStepsResponse:
        if not req.workspace_id:
            raise InvalidArgument("GetSteps needs workspace_id: transcripts are workspace-scoped")
        if not (req.task_id or req.execution_id):
            raise InvalidArgument("GetSteps needs a task_id or an execution_id")
        if req.page_size < 0:
            raise InvalidArgument(f"page_size must not be negative, got {req.page_size}")
        size = min(req.page_size or DEFAULT_PAGE, MAX_PAGE)
        execution = await self._execution(req)
        if req.page_token:
            run_id, after = parse_page_token(req.page_token)
        elif execution is not None and execution.get("run_id"):
            run_id, after = str(execution["run_id"]), 0
        else:
            run_id, after = (
                await self._steps.newest_run(req.workspace_id, task_id=req.task_id, execution_id=req.execution_id),
                0,
            )
        reply = kg_pb2.GetStepsResponse(run_id=run_id)
        if execution is not None and execution.get("run_id") == run_id:
            reply.execution.CopyFrom(codec.execution_from_row(execution))
        rows = await self._steps.steps(req.workspace_id, run_id, after, size + 1) if run_id else []
        reply.steps.extend(step_from_row(r) for r in rows[:size])
        if len(rows) > size:
            reply.next_page_token = page_token(run_id, int(rows[size - 1]["step_index"]))
        reply.execution_id = run_id.rpartition(".")[0] or req.execution_id
        if reply.execution_id:
            reply.execution_cost_cents = await self._steps.cost(req.workspace_id, execution_id=reply.execution_id)
        task_id = req.task_id or (reply.steps[0].task_id if reply.steps else "") or reply.execution.task_id
        if task_id:
            reply.task_cost_cents = await self._steps.cost(req.workspace_id, task_id=task_id)
        return reply
