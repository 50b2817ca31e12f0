"""What a simulated agent reports for a job, its execution and its run's steps: tests and benches
that play the agents."""

from __future__ import annotations

import asyncio
from typing import Any

from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.bus.acks import Stored
from vapora_core.bus.codec import timestamp


def execution_of(job: coordinator_pb2.JobAssigned, **fields: Any) -> kg_pb2.ExecutionRecorded:
    """The execution of ``job``: its identity from the job (``ex-<job id>``), the offline provider,
    verified (an outcome with evidence, so it counts in learning profiles), and ``fields``
    (success, quality, result, error, …) over those."""
    values: dict[str, Any] = {
        "execution_id": f"ex-{job.job_id}",
        "job_id": job.job_id,
        "task_id": job.task.id,
        "workspace_id": job.task.workspace_id,
        "agent_id": job.agent_id,
        "task_type": job.task.task_type,
        "attempt": job.attempt,
        "provider": "offline",
        "model": "offline-1",
        "verified": True,
    }
    values.update(fields)
    return kg_pb2.ExecutionRecorded(**values)


async def send_execution(bus: Bus, e: kg_pb2.ExecutionRecorded) -> asyncio.Future[Stored]:
    """Write ``e`` where an agent does (``executions.<type>.<agent>``, its id as msg id); the
    future resolves once it is stored (see :meth:`Bus.send`)."""
    return await bus.send(subjects.execution(e.task_type, e.agent_id), e, msg_id=e.execution_id)


async def publish_execution(bus: Bus, e: kg_pb2.ExecutionRecorded) -> None:
    """:func:`send_execution`, returning once ``e`` is stored."""
    await (await send_execution(bus, e))


def step_of(
    run_id: str, index: int, kind: str = "tool", *, at_s: float = 1_700_000_000.0, **fields: Any
) -> kg_pb2.StepRecorded:
    """Step ``index`` (a ``model`` or ``tool`` step) of run ``run_id`` (``<execution id>.<delivery>``),
    of execution ``<execution id>``, started at ``at_s + index``; ``fields`` (task_id, workspace_id,
    agent_id, text, tool, …) over the defaults: job-x, task-x, ws1, agent a1, task type testing."""
    values: dict[str, Any] = {
        "execution_id": run_id.rpartition(".")[0],
        "run_id": run_id,
        "job_id": "job-x",
        "task_id": "task-x",
        "workspace_id": "ws1",
        "agent_id": "a1",
        "task_type": "testing",
        "index": index,
        "kind": kind,
        "at": timestamp(at_s + index),
    }
    values.update(fields)
    return kg_pb2.StepRecorded(**values)


async def publish_steps(bus: Bus, *steps: kg_pb2.StepRecorded) -> None:
    """Publish ``steps`` where an agent runtime does (``steps.<type>.<agent>``, ``<run id>.<index>``
    as msg id), in order."""
    for s in steps:
        await bus.publish(subjects.step(s.task_type, s.agent_id), s, msg_id=f"{s.run_id}.{s.index}")
