"""Bus edges of the coordinator: decode, call the service, let the bus ack or dead-letter.

A message handled while this coordinator's lease has lapsed (its writes fenced: :class:`LeaseLost`,
until it stands down and stops its consumers) is not its failure: it is put back for a lease TTL
(:class:`~vapora_core.bus.Hold`), for whichever coordinator holds the lease by then, rather than
retried at the failure back-off and dead-lettered after a few deliveries (a task lost).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import ParamSpec, TypeVar

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import CONSUMERS, Bus, Consumer, Delivery, Hold
from vapora_core.errors import InvalidArgument
from vapora_swarm_coordinator.intake import task_consumers
from vapora_swarm_coordinator.lease import LeaseLost
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings

P = ParamSpec("P")
T = TypeVar("T")


def held_when_fenced(ttl_s: float, handler: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """``handler``, whose :class:`LeaseLost` becomes a :class:`Hold` of ``ttl_s`` (see the module doc)."""

    @functools.wraps(handler)
    async def held(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await handler(*args, **kwargs)
        except LeaseLost as exc:
            raise _hold(ttl_s, exc) from exc

    return held


def _hold(ttl_s: float, fenced: LeaseLost) -> Hold:
    """What a fenced write's message becomes: put back for a lease TTL, not failed."""
    return Hold(ttl_s, str(fenced))


def _held(ttl_s: float, outcome: BaseException | None) -> BaseException | None:
    return _hold(ttl_s, outcome) if isinstance(outcome, LeaseLost) else outcome


async def subscribe(bus: Bus, coordinator: Coordinator, settings: CoordinatorSettings) -> list[Consumer]:
    """Subscribe executions, cancels and the registry and profile feeds (they start at once if the
    bus runs, else with it); the consumers."""
    ttl = settings.lease_ttl_s

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
        await bus.subscribe(CONSUMERS.COORDINATOR_CANCELS, tasks_pb2.TaskCancelled, held_when_fenced(ttl, on_cancel)),
        await bus.subscribe(CONSUMERS.COORDINATOR_AGENTS, agents_pb2.AgentsChanged, held_when_fenced(ttl, on_agents)),
        await bus.subscribe(CONSUMERS.COORDINATOR_PROFILES, kg_pb2.ProfilesChanged, on_profiles),
        await bus.subscribe(executions, kg_pb2.ExecutionRecorded, held_when_fenced(ttl, on_execution), workers=workers),
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
        try:
            assigned: list[BaseException | None] = list(
                await coordinator.assign_batch([(task, delivery) for _, task, delivery in tasks])
            )
        except LeaseLost as exc:  # the whole batch fenced
            assigned = [exc] * len(tasks)
        for (i, _, _), outcome in zip(tasks, assigned, strict=True):
            outcomes[i] = _held(settings.lease_ttl_s, outcome)
        return outcomes

    lanes = task_consumers(buffer=settings.buffer_per_priority, ack_wait_s=settings.ack_wait_s)
    return await bus.subscribe_batches(
        lanes, tasks_pb2.TaskSubmitted, on_tasks, workers=settings.workers, batch=settings.intake_batch
    )
