"""What the knowledge-graph's tests share: a test clock, executions, and publishing."""

from __future__ import annotations

from vapora.kg.v1 import kg_pb2
from vapora_core.bus import Bus, subjects
from vapora_knowledge_graph.learning import DAY_S

NOW = 1_700_000_000.0


def execution(
    eid: str,
    *,
    ws: str = "ws1",
    agent: str = "a1",
    success: bool = True,
    age_days: float = 0,
    task_type: str = "testing",
) -> kg_pb2.ExecutionRecorded:
    e = kg_pb2.ExecutionRecorded(
        execution_id=eid,
        job_id=f"job-{eid}",
        task_id=f"task-{eid}",
        workspace_id=ws,
        agent_id=agent,
        role="tester",
        task_type=task_type,
        success=success,
        quality=0.8 if success else 0.2,
        latency_ms=100,
        input_tokens=10,
        output_tokens=20,
        cost_cents=0.5,
        provider="offline",
        model="offline-1",
        verified=True,  # as verification would record it: these executions count in profiles
    )
    e.finished_at.FromNanoseconds(int((NOW - age_days * DAY_S) * 1e9))
    return e


async def publish(bus: Bus, *executions: kg_pb2.ExecutionRecorded) -> None:
    for e in executions:
        await bus.publish(subjects.execution(e.task_type, e.agent_id), e)
