"""What a simulated agent reports for a job: tests and benches that play the agents."""

from __future__ import annotations

import asyncio
from typing import Any

from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora_core.bus import Bus, subjects
from vapora_core.bus.acks import Stored


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
