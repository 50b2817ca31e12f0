"""First assignments: a submitted task to the best agent with room, once.

- :meth:`Assigner.assign` (one task) scores first and lets the store decide: the record is
  created only if the task has none (a redelivered task keeps the one it has, which is announced
  again, same job id). Only when no agent can take the task now is the store asked first whether
  the task is assigned already, so a redelivery never waits for capacity it already holds.
- No agent with room: the task waits in the room queue of its type and workspace
  (``waiting.py``: highest priority first, then first come) up to ``capacity_wait_s``, then
  :class:`Hold` naks it back. A task arriving while others of its priority or higher wait queues
  behind them instead of taking a freed slot. No healthy agent capable at all: the registry is
  asked again, and the task is held every ``no_agent_retry_s`` until ``no_agent_timeout_s`` after
  its publish, then stored FAILED.
- :meth:`Assigner.assign_batch` (a worker's batch): the tasks an agent has room for now are
  scored in turn, stored with one group commit, announced together, and each acked once both its
  messages are stored. The others (waiting for room, or assigned before: a redelivery) go through
  :meth:`Assigner.assign` meanwhile, each on its own, so none holds up another and a task with no
  room joins the room queue at once, in batch order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vapora.common.v1 import common_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Delivery, Hold
from vapora_core.errors import InvalidArgument, VaporaError
from vapora_swarm_coordinator import metrics, records
from vapora_swarm_coordinator.announce import Announcer
from vapora_swarm_coordinator.batching import GroupCommit
from vapora_swarm_coordinator.inference import infer_task_type
from vapora_swarm_coordinator.lookups import Lookups
from vapora_swarm_coordinator.records import Clock, Ranked, Row
from vapora_swarm_coordinator.repository import ASSIGNED, FAILED, AssignmentRepository
from vapora_swarm_coordinator.scoring import Score
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.stage_outcomes import StageOutcomes
from vapora_swarm_coordinator.state import FleetView
from vapora_swarm_coordinator.waiting import RoomQueue

Outcome = BaseException | None  # what assign() raised for a task of a batch, or None
Alone = tuple[int, asyncio.Future[Outcome]]  # a task of a batch going through assign() on its own


@dataclass(frozen=True, slots=True)
class Picked:
    """A task of a batch an agent has room for now; that agent's load already taken."""

    index: int
    task_type: str
    ranked: Ranked


@dataclass(frozen=True, slots=True)
class Stored:
    """What became of a batch's picked tasks once their rows were written."""

    announced: list[tuple[int, tuple[asyncio.Future[Any], ...]]]  # created and sent: their acknowledgements
    failed: list[tuple[int, BaseException]]  # refused by the store, or their announce failed
    again: list[Alone]  # assigned before this delivery: announced by assign(), started as found


@dataclass(frozen=True, slots=True, kw_only=True)
class Assigner:
    settings: CoordinatorSettings
    repo: AssignmentRepository
    commits: GroupCommit
    view: FleetView
    waiting: RoomQueue
    lookups: Lookups
    announcer: Announcer
    clock: Clock
    stages: StageOutcomes | None = None  # the workflow engine, told when a stage's task fails here
    _first_seen: dict[str, float] = field(default_factory=dict, init=False)  # task → when first seen with no agent

    async def assign(self, task: tasks_pb2.Task, *, published_s: float | None = None) -> Row:
        """Assign ``task`` once; raise :class:`Hold` when no agent can take it now."""
        task_type = await self._prepare(task)
        ranked = self._pick_now(task, task_type)
        if ranked is None:
            existing = await self.repo.get(task.id)
            if existing is not None:
                if existing["state"] == ASSIGNED:
                    await self.announcer.assignment(existing, task)  # a crash may have lost the publish
                return existing
            waited = await self._wait_for_room(task, task_type, published_s)
            if isinstance(waited, dict):
                return waited
            ranked = waited
        chosen, best = ranked[0]
        row = self._first_row(task, task_type, ranked)
        try:
            created = await self.commits.create(row)
        except BaseException:
            self.view.add_load(chosen.agent_id, -1)
            raise
        if not created:
            self.view.add_load(chosen.agent_id, -1)
            stored = await self.repo.get(task.id)
            if stored is not None and stored["state"] == ASSIGNED:
                await self.announcer.assignment(stored, task)
            return stored or row
        self._assigned(task, task_type, best)
        await self.announcer.assignment(row, task, best)
        return row

    async def assign_batch(self, batch: Sequence[tuple[tasks_pb2.Task, Delivery]]) -> list[Outcome]:
        """Assign each task of ``batch`` once; one outcome per task, in order: None, or the
        exception :meth:`assign` would have raised for it. A worker taking several tasks at once
        pays the event loop's cost of a store write and of awaiting acknowledgements once per
        batch, not once per task."""
        outcomes: list[Outcome] = [None] * len(batch)
        picked: list[Picked] = []
        no_room: list[int] = []
        for i, (task, _) in enumerate(batch):
            try:
                task_type = await self._prepare(task)
            except VaporaError as exc:
                outcomes[i] = exc
                continue
            ranked = self._pick_now(task, task_type)
            if ranked is None:
                no_room.append(i)
            else:
                picked.append(Picked(i, task_type, ranked))
        # the tasks with no room now join the room queue at once, in their order, as assign() would
        alone: list[Alone] = [(i, asyncio.ensure_future(self._assign_one(*batch[i]))) for i in no_room]
        try:
            stored = await self._store_and_announce(batch, picked)
            alone += stored.again
            for i, error in stored.failed:
                outcomes[i] = error
            for i, acknowledgements in stored.announced:
                try:
                    for future in acknowledgements:
                        await future
                except VaporaError as exc:
                    outcomes[i] = exc
                else:
                    await batch[i][1].ack()
        except BaseException:
            await _cancel(alone)
            raise
        for i, running in alone:
            outcomes[i] = await running
        return outcomes

    async def _store_and_announce(
        self, batch: Sequence[tuple[tasks_pb2.Task, Delivery]], picked: list[Picked]
    ) -> Stored:
        """The picked tasks of a batch stored with one group commit and announced. A task assigned
        before (a redelivery) goes to ``assign()`` as one with no room does, started as soon as it
        is found; one the store refused gets its error as its outcome."""
        rows = [self._first_row(batch[p.index][0], p.task_type, p.ranked) for p in picked]
        try:
            made = await self.commits.create_many(rows)
        except BaseException:
            for p in picked:
                self.view.add_load(p.ranked[0][0].agent_id, -1)
            raise
        announced: list[tuple[int, tuple[asyncio.Future[Any], ...]]] = []
        failed: list[tuple[int, BaseException]] = []
        again: list[Alone] = []
        try:
            new: list[tuple[Picked, Row]] = []
            for p, row, created in zip(picked, rows, made, strict=True):
                task, delivery = batch[p.index]
                if created is not True:
                    self.view.add_load(p.ranked[0][0].agent_id, -1)
                    if isinstance(created, Exception):
                        failed.append((p.index, created))
                    else:  # assigned before this delivery: assign() announces what is stored
                        again.append((p.index, asyncio.ensure_future(self._assign_one(task, delivery))))
                    continue
                self._assigned(task, p.task_type, p.ranked[0][1])
                new.append((p, row))
            tokens = self.announcer.sign_jobs([(row, batch[p.index][0]) for p, row in new])
            for n, (p, row) in enumerate(new):
                task, delivery = batch[p.index]
                token = tokens[n] if tokens is not None else None
                try:
                    with delivery.traced():
                        sent = await self.announcer.send_assignment(row, task, p.ranked[0][1], token=token)
                    announced.append((p.index, sent))
                except VaporaError as exc:
                    failed.append((p.index, exc))
        except BaseException:
            await _cancel(again)
            raise
        return Stored(announced, failed, again)

    async def _assign_one(self, task: tasks_pb2.Task, delivery: Delivery) -> Outcome:
        """:meth:`assign` in ``delivery``'s trace; what it raised, or None."""
        with delivery.traced():
            try:
                await self.assign(task, published_s=delivery.published_at)
            except Exception as exc:
                return exc
        return None

    async def _prepare(self, task: tasks_pb2.Task) -> str:
        """The task's type (inferred when missing), once the task is known to be assignable and the
        learning profiles of its type are in the view; InvalidArgument when it cannot be."""
        if not task.id:
            raise InvalidArgument("TaskSubmitted without task.id")
        if not task.workspace_id:
            raise InvalidArgument(f"task {task.id} has no workspace_id")
        task_type = task.task_type or infer_task_type(task.title, task.description)
        await self.lookups.ensure_profiles(task_type, task.workspace_id)
        return task_type

    def _pick_now(self, task: tasks_pb2.Task, task_type: str) -> Ranked | None:
        """The ranked candidates if an agent can take the task now and no task is waiting ahead of it."""
        priority = task.priority or common_pb2.PRIORITY_NORMAL
        if self.waiting.ahead(task_type, task.workspace_id, priority, task.required_role):
            return None
        return self._pick(task_type, task.workspace_id, task.required_role)

    def _pick(self, task_type: str, workspace_id: str, role: str) -> Ranked | None:
        """The ranked best candidates (of ``role``, when a workflow stage requires one), the first
        one's load already taken; None when none has room."""
        ranked = self.view.best(task_type, workspace_id, self.settings.explain_candidates, role=role)
        if not ranked:
            return None
        self.view.add_load(ranked[0][0].agent_id, 1)
        return ranked

    def _first_row(self, task: tasks_pb2.Task, task_type: str, ranked: Ranked) -> Row:
        return records.assigned(task, task_type, ranked, attempt=1, reason="highest score", at_s=self.clock())

    def _assigned(self, task: tasks_pb2.Task, task_type: str, best: Score) -> None:
        self._first_seen.pop(task.id, None)
        metrics.assigned(task_type, best.learning_data).inc()

    async def _wait_for_room(self, task: tasks_pb2.Task, task_type: str, published_s: float | None) -> Ranked | Row:
        """Wait (bounded) in the room queue until a capable agent has room for this task and it is
        its turn (higher priorities first); the FAILED row when no agent ever can."""
        deadline = time.monotonic() + self.settings.capacity_wait_s
        role = task.required_role
        waiter = self.waiting.join(task_type, task.workspace_id, task.priority or common_pb2.PRIORITY_NORMAL, role)
        try:
            while True:
                waiter.woken.clear()
                if not self.view.has_capable(task_type, task.workspace_id, role):
                    await self.lookups.refresh_registry(force=not self.view.registry_loaded)
                    if not self.view.has_capable(task_type, task.workspace_id, role):
                        return await self._no_agent(task, task_type, published_s)
                    await self.lookups.ensure_profiles(task_type, task.workspace_id)
                if self.waiting.first(waiter):
                    ranked = self._pick(task_type, task.workspace_id, role)
                    if ranked is not None:
                        return ranked
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    metrics.HELD.labels("busy").inc()
                    busy = f"every agent capable of {_need(task, task_type)} is at capacity"
                    raise Hold(self.settings.no_agent_retry_s, busy)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.woken.wait(), timeout=min(remaining, 1.0))
        finally:
            self.waiting.leave(waiter)

    async def _no_agent(self, task: tasks_pb2.Task, task_type: str, published_s: float | None) -> Row:
        first = published_s or self._first_seen.setdefault(task.id, self.clock())
        waited = self.clock() - first
        need = _need(task, task_type)
        if waited < self.settings.no_agent_timeout_s:
            metrics.HELD.labels("no_agent").inc()
            raise Hold(self.settings.no_agent_retry_s, f"no healthy agent is capable of {need}")
        detail = f"no healthy agent capable of {need} within {self.settings.no_agent_timeout_s:.0f}s"
        row = records.failed(task, task_type, reason=detail, at_s=self.clock())
        if await self.repo.create(row):
            self._first_seen.pop(task.id, None)
            metrics.finished(FAILED).inc()
            await self.announcer.status(row, common_pb2.TASK_STATE_FAILED, detail=detail)
            if self.stages is not None:
                await self.stages.failed(row, detail)
        return row


def _need(task: tasks_pb2.Task, task_type: str) -> str:
    """What a task needs of an agent, as a message says it."""
    return f"{task_type} of role {task.required_role}" if task.required_role else task_type


async def _cancel(alone: list[Alone]) -> None:
    """Stop the tasks going through assign() on their own, and wait until they have."""
    for _, running in alone:
        running.cancel()
    await asyncio.gather(*(running for _, running in alone), return_exceptions=True)
