"""Bus edges of the coordinator: decode, call the service, let the bus ack or dead-letter."""

from __future__ import annotations

from dataclasses import replace

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import CONSUMERS, Bus, Consumer, Delivery
from vapora_core.errors import InvalidArgument
from vapora_swarm_coordinator.intake import task_consumers
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings


async def subscribe(bus: Bus, coordinator: Coordinator, settings: CoordinatorSettings) -> list[Consumer]:
    """Subscribe executions, cancels and the registry and profile feeds (they start at once if the
    bus runs, else with it); the consumers."""

    async def on_execution(msg: kg_pb2.ExecutionRecorded, _: Delivery) -> None:
        await coordinator.on_execution(msg)

    async def on_cancel(msg: tasks_pb2.TaskCancelled, _: Delivery) -> None:
        await coordinator.on_cancel(msg)

    async def on_agents(msg: agents_pb2.AgentsChanged, _: Delivery) -> None:
        await coordinator.on_agents_changed(msg)

    async def on_profiles(msg: kg_pb2.ProfilesChanged, _: Delivery) -> None:
        for p in msg.profiles:
            coordinator.view.set_profile(p)

    workers = settings.execution_workers
    executions = replace(
        CONSUMERS.COORDINATOR_EXECUTIONS,
        ack_wait_s=settings.ack_wait_s,
        batch_size=max(CONSUMERS.COORDINATOR_EXECUTIONS.batch_size, 2 * workers),
    )
    return [
        await bus.subscribe(CONSUMERS.COORDINATOR_CANCELS, tasks_pb2.TaskCancelled, on_cancel),
        await bus.subscribe(CONSUMERS.COORDINATOR_AGENTS, agents_pb2.AgentsChanged, on_agents),
        await bus.subscribe(CONSUMERS.COORDINATOR_PROFILES, kg_pb2.ProfilesChanged, on_profiles),
        await bus.subscribe(executions, kg_pb2.ExecutionRecorded, on_execution, workers=workers),
    ]


async def subscribe_tasks(bus: Bus, coordinator: Coordinator, settings: CoordinatorSettings) -> Consumer:
    """The task intake (:mod:`.intake`): workers take up to ``intake_batch`` buffered tasks of the
    priority whose turn it is and assign them together, each task settled by its own outcome."""

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

    lanes = task_consumers(buffer=settings.buffer_per_priority, ack_wait_s=settings.ack_wait_s)
    return await bus.subscribe_batches(
        lanes, tasks_pb2.TaskSubmitted, on_tasks, workers=settings.workers, batch=settings.intake_batch
    )
