"""The coordinator's domain logic: assign tasks, finish them, reassign when agents fail."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from google.protobuf.json_format import ParseDict
from google.protobuf.message import Message

from vapora.agents.v1 import agents_pb2
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Delivery, Hold, subjects
from vapora_core.bus.codec import timestamp as _ts
from vapora_core.errors import InvalidArgument, NotFound, VaporaError
from vapora_swarm_coordinator import metrics, ranking, scoring
from vapora_swarm_coordinator.batching import GroupCommit
from vapora_swarm_coordinator.clients import KgClient, RegistryClient
from vapora_swarm_coordinator.inference import infer_task_type
from vapora_swarm_coordinator.repository import ASSIGNED, CANCELLED, DONE, FAILED, AssignmentRepository, Holder
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.state import FleetView
from vapora_swarm_coordinator.waiting import RoomQueue

log = logging.getLogger("vapora.coordinator")

Clock = Callable[[], float]
Row = dict[str, Any]
Ranked = list[tuple[scoring.Candidate, scoring.Score]]  # the best candidates, the chosen one first
RESULT_LIMIT = 2000


class Publisher(Protocol):
    async def publish(self, subject: str, message: Message, *, msg_id: str | None = None) -> Any: ...

    async def send(self, subject: str, message: Message, *, msg_id: str | None = None) -> asyncio.Future[Any]: ...

    async def broadcast(self, subject: str, message: Message) -> None: ...


# Subject names per agent / workspace, computed once (token sanitising is per character).
_job_subject = functools.lru_cache(maxsize=16384)(subjects.job)
_event_subject = functools.lru_cache(maxsize=16384)(subjects.task_event)


def job_id_for(task_id: str, attempt: int) -> str:
    return f"job-{task_id}-{attempt}"


def chosen_score(row: Row) -> dict[str, Any]:
    """The breakdown of the agent an assignment chose: the head of its ranking (the chosen agent is
    always ranked first), or the ``score`` field of records written before the ranking held it."""
    ranked = ranking.unpack(row.get("ranking"))
    if ranked and ranked[0][0] == row.get("agent_id"):
        return ranked[0][1]._asdict()
    return dict(row.get("score") or {})


class Coordinator:
    def __init__(
        self,
        settings: CoordinatorSettings,
        repo: AssignmentRepository,
        bus: Publisher,
        *,
        registry: RegistryClient | None = None,
        kg: KgClient | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.bus = bus
        self.registry = registry
        self.kg = kg
        self.clock = clock
        self.view = FleetView()
        self.waiting = RoomQueue()
        self.view.on_room = self.waiting.room_freed
        self.commits = GroupCommit(repo, finish_flush_at=settings.execution_workers)
        self._assign_lock = asyncio.Lock()
        self._last_refresh = 0.0
        self._first_seen: dict[str, float] = {}

    # -- start-up ----------------------------------------------------------------------

    async def restore(self) -> None:
        """Rebuild the load per agent from the assignments still held."""
        for row in await self.repo.active():
            self.view.add_load(str(row["agent_id"]), 1)

    async def refresh_registry(self, *, force: bool = False) -> None:
        if self.registry is None:
            return
        now = time.monotonic()
        if not force and now - self._last_refresh < self.settings.registry_refresh_s:
            return
        self._last_refresh = now
        try:
            self.view.set_agents(await self.registry.list_agents())
        except VaporaError as exc:
            log.warning("cannot list agents from %s: %s", self.registry.target, exc)

    async def _ensure_profiles(self, task_type: str, workspace_id: str) -> None:
        """Cold start: the profiles of a task type's capable agents from the knowledge graph, once."""
        if self.kg is None or task_type in self.view.profile_types:
            return
        agent_ids = self.view.capable(task_type, workspace_id)
        if not agent_ids:
            return
        try:
            for p in await self.kg.profiles(agent_ids, task_type):
                self.view.set_profile(p)
            self.view.profile_types.add(task_type)
        except VaporaError as exc:
            log.warning("no learning profiles for %s from %s: %s", task_type, self.kg.target, exc)

    # -- assignment --------------------------------------------------------------------

    async def assign(self, task: tasks_pb2.Task, *, published_s: float | None = None) -> Row:
        """Assign ``task`` once; raise :class:`Hold` when no agent can take it now.

        The fast path scores first and lets the store decide: the assignment is created only
        if the task has none (a redelivered task keeps the one it has, which is announced
        again). Only when no agent can take the task now is the store asked first whether the
        task is assigned already, so a redelivery never waits for capacity it already holds.
        """
        task_type = await self._prepare(task)
        ranked = self._pick_now(task, task_type)
        if ranked is None:
            existing = await self.repo.get(task.id)
            if existing is not None:
                if existing["state"] == ASSIGNED:
                    await self._announce(existing, task)  # a crash may have lost the publish; job id dedups
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
                await self._announce(stored, task)
            return stored or row
        self._assigned(task, task_type, best)
        await self._announce(row, task, best)
        return row

    async def assign_batch(self, batch: Sequence[tuple[tasks_pb2.Task, Delivery]]) -> list[BaseException | None]:
        """Assign each task of ``batch`` once; one outcome per task, in order: None, or the
        exception :meth:`assign` would have raised for it.

        The tasks an agent has room for now are scored in turn, stored with one group commit,
        announced together, and each acked once both its messages are stored. The others (waiting
        for room, or already assigned: a redelivery) go through :meth:`assign` meanwhile, each on
        its own, so a task waiting for room holds up no other and joins the room queue at once. A
        worker taking several tasks at once pays the event loop's cost of a store write and of
        awaiting acknowledgements once per batch, not once per task.
        """
        outcomes: list[BaseException | None] = [None] * len(batch)
        picked: list[tuple[int, str, Ranked]] = []
        alone: list[int] = []
        for i, (task, _) in enumerate(batch):
            try:
                task_type = await self._prepare(task)
            except VaporaError as exc:
                outcomes[i] = exc
                continue
            ranked = self._pick_now(task, task_type)
            if ranked is None:
                alone.append(i)
            else:
                picked.append((i, task_type, ranked))
        # the tasks with no room now join the room queue at once, in their order, as assign() would
        one_by_one: list[asyncio.Future[BaseException | None]] = [
            asyncio.ensure_future(self._assign_one(*batch[i])) for i in alone
        ]
        try:
            announced = await self._store_and_announce(batch, picked, outcomes, alone, one_by_one)
            for i, stored in announced:
                try:
                    for future in stored:
                        await future
                except VaporaError as exc:
                    outcomes[i] = exc
                else:
                    await batch[i][1].ack()
        except BaseException:
            for running in one_by_one:
                running.cancel()
            await asyncio.gather(*one_by_one, return_exceptions=True)
            raise
        for i, running in zip(alone, one_by_one, strict=True):
            outcomes[i] = await running
        return outcomes

    async def _store_and_announce(
        self,
        batch: Sequence[tuple[tasks_pb2.Task, Delivery]],
        picked: list[tuple[int, str, Ranked]],
        outcomes: list[BaseException | None],
        alone: list[int],
        one_by_one: list[asyncio.Future[BaseException | None]],
    ) -> list[tuple[int, tuple[asyncio.Future[Any], ...]]]:
        """The picked tasks of a batch stored with one group commit and announced; the futures of
        their acknowledgements. A task assigned before (a redelivery) goes to ``assign()`` as one
        with no room does; one the store refused gets its error as its outcome."""
        rows = [self._first_row(batch[i][0], task_type, ranked) for i, task_type, ranked in picked]
        try:
            made = await self.commits.create_many(rows)
        except BaseException:
            for _, _, ranked in picked:
                self.view.add_load(ranked[0][0].agent_id, -1)
            raise
        announced: list[tuple[int, tuple[asyncio.Future[Any], ...]]] = []
        for (i, task_type, ranked), row, created in zip(picked, rows, made, strict=True):
            task, delivery = batch[i]
            chosen, best = ranked[0]
            if created is not True:
                self.view.add_load(chosen.agent_id, -1)
                if isinstance(created, Exception):
                    outcomes[i] = created
                else:  # assigned before this delivery: assign() announces what is stored
                    alone.append(i)
                    one_by_one.append(asyncio.ensure_future(self._assign_one(task, delivery)))
                continue
            self._assigned(task, task_type, best)
            try:
                with delivery.traced():
                    announced.append((i, await self._send_announce(row, task, best)))
            except VaporaError as exc:
                outcomes[i] = exc
        return announced

    async def _assign_one(self, task: tasks_pb2.Task, delivery: Delivery) -> BaseException | None:
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
        await self._ensure_profiles(task_type, task.workspace_id)
        return task_type

    def _pick_now(self, task: tasks_pb2.Task, task_type: str) -> Ranked | None:
        """The ranked candidates if an agent can take the task now and no task is waiting ahead of it."""
        priority = task.priority or common_pb2.PRIORITY_NORMAL
        if self.waiting.ahead(task_type, task.workspace_id, priority):
            return None
        return self._pick(task_type, task.workspace_id)

    def _first_row(self, task: tasks_pb2.Task, task_type: str, ranked: Ranked) -> Row:
        chosen, best = ranked[0]
        return self._row(task, task_type, chosen.agent_id, best, ranked, attempt=1, reason="highest score")

    def _assigned(self, task: tasks_pb2.Task, task_type: str, best: scoring.Score) -> None:
        self._first_seen.pop(task.id, None)
        metrics.assigned(task_type, best.learning_data).inc()

    def _pick(self, task_type: str, workspace_id: str) -> Ranked | None:
        """The ranked best candidates, the first one's load already taken; None when none has room."""
        ranked = self.view.best(task_type, workspace_id, self.settings.explain_candidates)
        if not ranked:
            return None
        self.view.add_load(ranked[0][0].agent_id, 1)
        return ranked

    async def _wait_for_room(self, task: tasks_pb2.Task, task_type: str, published_s: float | None) -> Ranked | Row:
        """Wait (bounded) in the room queue until a capable agent has room for this task and it is
        its turn (higher priorities first); the FAILED row when no agent ever can."""
        deadline = time.monotonic() + self.settings.capacity_wait_s
        waiter = self.waiting.join(task_type, task.workspace_id, task.priority or common_pb2.PRIORITY_NORMAL)
        try:
            while True:
                waiter.woken.clear()
                if not self.view.has_capable(task_type, task.workspace_id):
                    await self.refresh_registry(force=not self.view.registry_loaded)
                    if not self.view.has_capable(task_type, task.workspace_id):
                        return await self._no_agent(task, task_type, published_s)
                    await self._ensure_profiles(task_type, task.workspace_id)
                if self.waiting.first(waiter):
                    ranked = self._pick(task_type, task.workspace_id)
                    if ranked is not None:
                        return ranked
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    metrics.HELD.labels("busy").inc()
                    raise Hold(self.settings.no_agent_retry_s, f"every agent capable of {task_type} is at capacity")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.woken.wait(), timeout=min(remaining, 1.0))
        finally:
            self.waiting.leave(waiter)

    def _row(
        self,
        task: tasks_pb2.Task,
        task_type: str,
        agent_id: str,
        best: scoring.Score,
        ranked: Ranked,
        *,
        attempt: int,
        reason: str,
    ) -> Row:
        task.task_type = task_type  # the task as assigned, its type decided (the message is the caller's own)
        return {
            "task_id": task.id,
            "workspace_id": task.workspace_id,
            "task_type": task_type,
            "agent_id": agent_id,
            "job_id": job_id_for(task.id, attempt),
            "attempt": attempt,
            "state": ASSIGNED,
            "ranking": ranking.pack(ranked),
            "reason": reason,
            "assigned_s": self.clock(),
            "task": task.SerializeToString(),
        }

    async def _no_agent(self, task: tasks_pb2.Task, task_type: str, published_s: float | None) -> Row:
        first = published_s or self._first_seen.setdefault(task.id, self.clock())
        waited = self.clock() - first
        if waited < self.settings.no_agent_timeout_s:
            metrics.HELD.labels("no_agent").inc()
            raise Hold(self.settings.no_agent_retry_s, f"no healthy agent is capable of {task_type}")
        detail = f"no healthy agent capable of {task_type} within {self.settings.no_agent_timeout_s:.0f}s"
        row = {
            "task_id": task.id,
            "workspace_id": task.workspace_id,
            "task_type": task_type,
            "agent_id": "",
            "job_id": "",
            "attempt": 0,
            "state": FAILED,
            "ranking": ranking.EMPTY,
            "reason": detail,
            "assigned_s": self.clock(),
            "task": task.SerializeToString(),
        }
        if await self.repo.create(row):
            self._first_seen.pop(task.id, None)
            metrics.finished(FAILED).inc()
            await self._status(row, common_pb2.TASK_STATE_FAILED, detail=detail)
        return row

    async def _announce(self, row: Row, task: tasks_pb2.Task | None = None, best: scoring.Score | None = None) -> None:
        """Publish the job and the ASSIGNED event of ``row`` (idempotent: the job id is the msg id)."""
        for future in await self._send_announce(row, task, best):
            await future

    async def _send_announce(
        self, row: Row, task: tasks_pb2.Task | None = None, best: scoring.Score | None = None
    ) -> tuple[asyncio.Future[Any], ...]:
        """Send what :meth:`_announce` publishes; the futures of their acknowledgements."""
        stored = self._task(row) if task is None or row.get("attempt", 1) > 1 else task
        stored.task_type = str(row["task_type"])
        score = coordinator_pb2.ScoreBreakdown(**(best._asdict() if best is not None else chosen_score(row)))
        job = coordinator_pb2.JobAssigned(
            job_id=str(row["job_id"]),
            task=stored,
            agent_id=str(row["agent_id"]),
            attempt=int(row["attempt"]),
            assigned_at=_ts(float(row["assigned_s"])),
            score=score,
        )
        # Both go out at once on the one connection, the event first: an agent can only finish
        # (and DONE be published) after the job is stored, so ASSIGNED always precedes DONE.
        assigned = await self.bus.send(
            _event_subject(row["workspace_id"]),
            self._event(row, common_pb2.TASK_STATE_ASSIGNED, detail=str(row.get("reason", ""))),
        )
        delivered = await self.bus.send(_job_subject(job.agent_id), job, msg_id=job.job_id)
        return assigned, delivered

    async def _status(self, row: Row, state: int, **fields: Any) -> None:
        event = self._event(row, state, **fields)
        await self.bus.publish(_event_subject(event.workspace_id), event)

    def _event(self, row: Row, state: int, **fields: Any) -> tasks_pb2.TaskStatusChanged:
        return tasks_pb2.TaskStatusChanged(
            task_id=str(row["task_id"]),
            workspace_id=str(row["workspace_id"]),
            state=state,  # type: ignore[arg-type]
            agent_id=str(row.get("agent_id", "")),
            task_type=str(row.get("task_type", "")),
            at=_ts(self.clock()),
            **fields,
        )

    @staticmethod
    def _task(row: Row) -> tasks_pb2.Task:
        task = tasks_pb2.Task()
        blob = row.get("task") or b""
        task.ParseFromString(blob if isinstance(blob, bytes) else base64.b64decode(str(blob)))  # str: older records
        return task

    # -- executions --------------------------------------------------------------------

    async def on_execution(self, e: kg_pb2.ExecutionRecorded) -> None:
        """Mark the task DONE or FAILED when ``e`` comes from the job that holds it."""
        if not e.task_id:
            raise InvalidArgument("ExecutionRecorded without task_id")
        state = common_pb2.TASK_STATE_DONE if e.success else common_pb2.TASK_STATE_FAILED
        changes = {
            "state": DONE if e.success else FAILED,
            "execution_id": e.execution_id,
            "provider": e.provider,
            "model": e.model,
            "finished_s": self.clock(),
            "error": e.error,
        }  # the result itself is the knowledge graph's (its execution record) and the DONE event's
        # The usual case in one round trip: the job named by the execution still holds the task.
        holder = await self.commits.finish(e.task_id, e.job_id, changes) if e.job_id else None
        applied = holder is not None
        if holder is None:
            row = await self.repo.get(e.task_id)
            if row is None:
                log.info("execution %s of unknown task %s ignored", e.execution_id, e.task_id)
                return
            if e.job_id and e.job_id != row["job_id"]:
                metrics.STALE.inc()
                log.info(
                    "stale execution %s of job %s ignored (task now held by %s)",
                    e.execution_id,
                    e.job_id,
                    row["job_id"],
                )
                return
            if row["state"] == ASSIGNED:
                holder = await self.repo.finish(e.task_id, str(row["job_id"]), changes)
                if holder is None:
                    return
                applied = True
            elif row.get("execution_id") != e.execution_id:
                return
            else:  # this execution was applied before; its DONE may not have gone out
                holder = Holder.of(row)
        if applied:
            self.view.add_load(holder.agent_id, -1)
            metrics.finished(changes["state"]).inc()
        await self._status(
            {"task_id": e.task_id, **holder.fields()},
            state,
            provider=e.provider,
            model=e.model,
            execution_id=e.execution_id,
            result=e.result[:RESULT_LIMIT],
            detail=e.error,
        )

    # -- cancellations -----------------------------------------------------------------

    async def on_cancel(self, c: tasks_pb2.TaskCancelled) -> None:
        """Never assign ``c``'s task; if a job holds it, free its agent and tell the runtimes to
        stop the job (a redelivered cancel tells them again)."""
        if not c.task_id or not c.workspace_id:
            raise InvalidArgument("TaskCancelled needs task_id and workspace_id")
        reason = f"cancelled by {c.actor or 'someone'}" + (f": {c.reason}" if c.reason else "")
        before = await self.repo.cancel(c.task_id, c.workspace_id, reason, self.clock())
        if before is None or not before.get("job_id"):
            return  # finished already, another workspace's, or never assigned
        agent_id = str(before["agent_id"])
        if before["state"] == ASSIGNED:
            self.view.add_load(agent_id, -1)
            metrics.finished(CANCELLED).inc()
        stop = coordinator_pb2.JobStopped(
            job_id=str(before["job_id"]),
            task_id=c.task_id,
            workspace_id=c.workspace_id,
            agent_id=agent_id,
            reason=reason,
        )
        await self.bus.broadcast(subjects.stop(agent_id), stop)
        log.info("job %s of cancelled task %s stopped", stop.job_id, c.task_id, extra={"agent_id": agent_id})

    # -- registry changes and timeouts -------------------------------------------------

    async def on_agents_changed(self, ev: agents_pb2.AgentsChanged) -> None:
        kind = ev.kind
        if kind in (agents_pb2.AgentsChanged.KIND_REGISTERED, agents_pb2.AgentsChanged.KIND_UPDATED):
            self.view.upsert_agent(ev.agent)
            if ev.agent.status == agents_pb2.AGENT_STATUS_HEALTHY:
                return
        elif kind == agents_pb2.AgentsChanged.KIND_REMOVED:
            self.view.remove_agent(ev.agent.id)
        elif kind == agents_pb2.AgentsChanged.KIND_UNHEALTHY:
            self.view.upsert_agent(ev.agent)
        else:
            raise InvalidArgument(f"AgentsChanged with unknown kind {kind}")
        for row in await self.repo.held_by(ev.agent.id):
            await self.reassign(row, why=f"agent {ev.agent.id} is no longer healthy")

    async def sweep_timeouts(self) -> int:
        overdue = await self.repo.overdue(self.clock() - self.settings.job_timeout_s)
        for row in overdue:
            await self.reassign(row, why=f"job {row['job_id']} timed out after {self.settings.job_timeout_s:.0f}s")
        return len(overdue)

    async def sweep_retention(self) -> int:
        """Delete the assignments of tasks that ended more than ``retention_days`` ago."""
        days = self.settings.retention_days
        deleted = await self.repo.delete_finished_before(self.clock() - days * 86400.0)
        metrics.RETENTION_DELETED.inc(deleted)
        if deleted:
            log.info("retention removed %d assignments of tasks that ended over %.0f days ago", deleted, days)
        return deleted

    async def reassign(self, row: Row, *, why: str) -> Row | None:
        """Move ``row``'s task to another agent (conditional on the attempt), or FAIL it."""
        task_id, attempt, old_agent = str(row["task_id"]), int(row["attempt"]), str(row["agent_id"])
        if attempt >= self.settings.max_attempts:
            detail = f"{why}; gave up after {attempt} attempts"
            updated = await self.repo.reassign(task_id, attempt, {"state": FAILED, "reason": detail})
            if updated is not None:
                self.view.add_load(old_agent, -1)
                metrics.finished(FAILED).inc()
                await self._status(updated, common_pb2.TASK_STATE_FAILED, detail=detail)
            return updated
        task_type = str(row["task_type"])
        async with self._assign_lock:
            ranked = self.view.best(
                task_type, str(row["workspace_id"]), self.settings.explain_candidates, frozenset({old_agent})
            )
            if not ranked:
                log.warning("cannot reassign task %s now (%s): no other agent has room", task_id, why)
                return None
            chosen, best = ranked[0]
            self.view.add_load(chosen.agent_id, 1)
        new = self._row(
            self._task(row), task_type, chosen.agent_id, best, ranked, attempt=attempt + 1, reason=f"reassigned: {why}"
        )
        keys = ("agent_id", "job_id", "attempt", "ranking", "reason", "assigned_s")
        changes = {k: new[k] for k in keys}
        updated = await self.repo.reassign(task_id, attempt, changes)
        if updated is None:
            self.view.add_load(chosen.agent_id, -1)
            return None
        self.view.add_load(old_agent, -1)
        metrics.REASSIGNMENTS.inc()
        await self._announce(updated)
        return updated

    # -- explain -----------------------------------------------------------------------

    async def explain(self, task_id: str, workspace_id: str) -> coordinator_pb2.Assignment:
        if not task_id or not workspace_id:
            raise InvalidArgument("ExplainAssignment needs task_id and workspace_id")
        row = await self.repo.get(task_id)
        if row is None or row.get("workspace_id") != workspace_id:
            raise NotFound(
                f"no assignment for task {task_id} in workspace {workspace_id} (not assigned yet, or ended"
                f" over {self.settings.retention_days:g} days ago)"
            )
        out = coordinator_pb2.Assignment(
            task_id=task_id,
            workspace_id=workspace_id,
            agent_id=str(row.get("agent_id", "")),
            job_id=str(row.get("job_id", "")),
            task_type=str(row.get("task_type", "")),
            reason=str(row.get("reason", "")),
            attempt=int(row.get("attempt", 0)),
            assigned_at=_ts(float(row.get("assigned_s", 0.0))),
        )
        ParseDict(chosen_score(row), out.score)
        for agent_id, score in ranking.unpack(row.get("ranking")):
            out.candidates.add(agent_id=agent_id, score=score._asdict())
        for c in row.get("candidates") or []:  # the form of records written before "ranking"
            cand = out.candidates.add(agent_id=str(c["agent_id"]))
            ParseDict(c.get("score") or {}, cand.score)
        return out
