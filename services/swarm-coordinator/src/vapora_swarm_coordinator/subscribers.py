"""Bus edges of the coordinator: decode, call the service, let the bus ack or dead-letter."""

from __future__ import annotations

from dataclasses import replace

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import CONSUMERS, Bus, Delivery
from vapora_core.errors import InvalidArgument
from vapora_swarm_coordinator.intake import PriorityIntake
from vapora_swarm_coordinator.pull import PullConsumer
from vapora_swarm_coordinator.service import Coordinator


async def subscribe(
    bus: Bus, coordinator: Coordinator, *, ack_wait_s: float | None = None, execution_workers: int = 256
) -> PullConsumer[kg_pb2.ExecutionRecorded]:
    """Subscribe cancels and the registry and profile feeds; return the executions consumer (start
    it once the bus runs)."""

    async def on_execution(msg: kg_pb2.ExecutionRecorded, _: Delivery) -> None:
        await coordinator.on_execution(msg)

    async def on_cancel(msg: tasks_pb2.TaskCancelled, _: Delivery) -> None:
        await coordinator.on_cancel(msg)

    async def on_agents(msg: agents_pb2.AgentsChanged, _: Delivery) -> None:
        await coordinator.on_agents_changed(msg)

    async def on_profiles(msg: kg_pb2.ProfilesChanged, _: Delivery) -> None:
        for p in msg.profiles:
            coordinator.view.set_profile(p)

    executions = CONSUMERS.COORDINATOR_EXECUTIONS
    if ack_wait_s is not None:
        executions = replace(executions, ack_wait_s=ack_wait_s)
    await bus.subscribe(CONSUMERS.COORDINATOR_CANCELS, tasks_pb2.TaskCancelled, on_cancel)
    await bus.subscribe(CONSUMERS.COORDINATOR_AGENTS, agents_pb2.AgentsChanged, on_agents)
    await bus.subscribe(CONSUMERS.COORDINATOR_PROFILES, kg_pb2.ProfilesChanged, on_profiles)
    executions = replace(executions, batch_size=max(executions.batch_size, 2 * execution_workers))
    return PullConsumer(bus, executions, kg_pb2.ExecutionRecorded, on_execution, workers=execution_workers)


def intake(
    bus: Bus,
    coordinator: Coordinator,
    *,
    workers: int,
    buffer: int,
    batch: int,
    service: str,
    ack_wait_s: float | None = None,
) -> PriorityIntake:
    async def on_tasks(delivered: list[tuple[tasks_pb2.TaskSubmitted, Delivery]]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = [None] * len(delivered)
        tasks = []
        for i, (msg, delivery) in enumerate(delivered):
            if msg.HasField("task"):
                tasks.append((i, msg.task, delivery))
            else:
                outcomes[i] = InvalidArgument("TaskSubmitted without a task")
        assigned = await coordinator.assign_batch([(task, delivery) for _, task, delivery in tasks])
        for (i, _, _), outcome in zip(tasks, assigned, strict=True):
            outcomes[i] = outcome
        return outcomes

    return PriorityIntake(
        bus, on_tasks, workers=workers, buffer=buffer, batch=batch, service=service, ack_wait_s=ack_wait_s
    )
