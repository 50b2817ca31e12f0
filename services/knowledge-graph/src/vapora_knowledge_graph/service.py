"""The knowledge graph's domain logic: record executions, keep profiles, answer queries.

Every counted execution moves two profiles (and their curves): the fleet-wide one of its
(agent, task type), which the coordinator assigns with and ``kg.profiles.changed`` announces, and
its workspace's own, which that workspace reads (``workspace_id`` on the profile and curve
queries): a workspace never sees another's executions through a profile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.aio import KeyedLocks
from vapora_core.errors import InvalidArgument, NotFound
from vapora_knowledge_graph import codec
from vapora_knowledge_graph.learning import DAY_S, DecayedSums, ProfileState
from vapora_knowledge_graph.metrics import EXECUTIONS, RETENTION_DELETED, export_profiles
from vapora_knowledge_graph.repository import KgRepository

log = logging.getLogger("vapora.kg")

Clock = Callable[[], float]
Publish = Callable[[Sequence[kg_pb2.LearningProfile]], Awaitable[None]]
MAX_QUERY_LIMIT = 1000
MAX_CURVE_DAYS = 3650


class KnowledgeGraph:
    """Executions in, profiles out. One lock per (agent, task type) keeps updates serial."""

    def __init__(self, repo: KgRepository, publish: Publish, *, clock: Clock = time.time) -> None:
        self.repo = repo
        self.publish = publish
        self.clock = clock
        self._locks = KeyedLocks()

    async def record(self, e: kg_pb2.ExecutionRecorded) -> bool:
        """Store ``e`` and, when it is verified, count it in its profile once; True when it was new.

        An unverified execution (the offline provider's, a self-report) is stored and never
        counted: no evidence is no evidence. A person's feedback on it counts it (:meth:`correct`).
        """
        row = codec.execution_row(e, self.clock())
        agent_id, task_type = row["agent_id"], row["task_type"]
        if not row["verified"]:
            new = await self.repo.record(row)
            EXECUTIONS.labels("unverified" if new else "duplicate").inc()
            return new
        ws = str(row["workspace_id"])
        async with self._locks.hold((agent_id, task_type)):
            profile = await self.repo.profile(agent_id, task_type)
            if await self.repo.execution(row["execution_id"]) is not None:
                new = False
            else:
                profile = profile or ProfileState(agent_id, task_type, DecayedSums(anchor_s=row["finished_s"]))
                mine = await self.repo.profile(agent_id, task_type, ws) or ProfileState(
                    agent_id, task_type, DecayedSums(anchor_s=row["finished_s"]), workspace_id=ws
                )
                for counted in (profile, mine):
                    counted.add(
                        t_s=row["finished_s"],
                        success=row["success"],
                        quality=row["quality"],
                        latency_ms=float(row["latency_ms"]),
                        cost_cents=row["cost_cents"],
                    )
                    counted.updated_at_s = self.clock()
                new = await self.repo.record(row, (profile, mine))
                if not new:
                    profile = await self.repo.profile(agent_id, task_type)
        EXECUTIONS.labels("new" if new else "duplicate").inc()
        if profile is not None:
            # Published on duplicates too: a crash between commit and publish is repaired by redelivery.
            await self._changed(codec.profile_to_pb(profile))
        return new

    async def _changed(self, profile: kg_pb2.LearningProfile) -> None:
        """A profile changed: shown in the metrics and published on ``kg.profiles.changed``."""
        export_profiles([profile])
        await self.publish([profile])

    async def correct(self, fb: tasks_pb2.FeedbackCorrection) -> None:
        """Apply a person's correction to the execution and its profile (idempotent)."""
        codec.check_unit("quality", fb.quality)
        if not fb.workspace_id:
            raise InvalidArgument("FeedbackCorrection without workspace_id")
        row = await self._target(fb)
        agent_id, task_type = str(row["agent_id"]), str(row["task_type"])
        async with self._locks.hold((agent_id, task_type)):
            row = await self.repo.execution(str(row["execution_id"])) or row
            old_s, old_q = bool(row["success"]), float(row["quality"])
            counted = bool(row.get("verified"))
            if counted and old_s == fb.success and old_q == fb.quality:
                return
            t_s = float(row["finished_s"])
            profiles = [
                await self._profile_for(agent_id, task_type, ws, counted=counted, t_s=t_s)
                for ws in ("", fb.workspace_id)
            ]
            for profile in profiles:
                if counted:
                    profile.correct(
                        t_s=t_s, old_success=old_s, new_success=fb.success, old_quality=old_q, new_quality=fb.quality
                    )
                else:  # the person's verdict is the evidence the execution lacked: it counts from now
                    profile.add(
                        t_s=t_s,
                        success=fb.success,
                        quality=fb.quality,
                        latency_ms=float(row.get("latency_ms") or 0),
                        cost_cents=float(row.get("cost_cents") or 0.0),
                    )
                profile.updated_at_s = self.clock()
            changes: dict[str, Any] = {
                "success": fb.success,
                "quality": fb.quality,
                "verified": True,
                "corrected": True,
                "correction": {"comment": fb.comment, "actor": fb.actor, "at_s": self.clock()},
            }
            await self.repo.correct(
                str(row["execution_id"]),
                changes,
                profiles,
                day=str(row["day"]),
                ds=int(fb.success) - (int(old_s) if counted else 0),
                dq=fb.quality - (old_q if counted else 0.0),
                dn=0 if counted else 1,
            )
        await self._changed(codec.profile_to_pb(profiles[0]))

    async def _profile_for(
        self, agent_id: str, task_type: str, workspace_id: str, *, counted: bool, t_s: float
    ) -> ProfileState:
        """The stored profile a correction changes; a new one for an execution counted only now."""
        profile = await self.repo.profile(agent_id, task_type, workspace_id)
        if profile is not None:
            return profile
        if counted:
            raise NotFound(f"no learning profile for agent {agent_id} and task type {task_type}")
        return ProfileState(agent_id, task_type, DecayedSums(anchor_s=t_s), workspace_id=workspace_id)

    async def _target(self, fb: tasks_pb2.FeedbackCorrection) -> dict[str, Any]:
        if fb.execution_id:
            row = await self.repo.execution(fb.execution_id)
        elif fb.task_id:
            row = await self.repo.newest_of_task(fb.workspace_id, fb.task_id)
        else:
            raise InvalidArgument("FeedbackCorrection needs an execution_id or a task_id")
        if row is None or row.get("workspace_id") != fb.workspace_id:
            what = fb.execution_id or f"of task {fb.task_id}"
            # The execution may still be on its way (the task is marked done from the same
            # event the graph stores): retry with backoff before dead-lettering the correction.
            raise NotFound(f"no execution {what} in workspace {fb.workspace_id}", retryable=True)
        return row

    async def profile(self, agent_id: str, task_type: str, workspace_id: str = "") -> kg_pb2.LearningProfile:
        """The fleet-wide profile, or (``workspace_id``) the one of that workspace's executions."""
        if not agent_id or not task_type:
            raise InvalidArgument("GetLearningProfile needs agent_id and task_type")
        p = await self.repo.profile(agent_id, task_type, workspace_id)
        if p is None:
            where = f" in workspace {workspace_id}" if workspace_id else ""
            raise NotFound(f"no learning profile for agent {agent_id} and task type {task_type}{where}")
        return codec.profile_to_pb(p)

    async def profiles(
        self, agent_ids: Sequence[str], task_type: str, workspace_id: str = ""
    ) -> list[kg_pb2.LearningProfile]:
        return [codec.profile_to_pb(p) for p in await self.repo.profiles(agent_ids, task_type, workspace_id)]

    async def curve(self, agent_id: str, task_type: str, days: int, workspace_id: str = "") -> list[kg_pb2.CurvePoint]:
        if not agent_id or not task_type:
            raise InvalidArgument("GetLearningCurve needs agent_id and task_type")
        if not 0 <= days <= MAX_CURVE_DAYS:
            raise InvalidArgument(f"days must be within [0, {MAX_CURVE_DAYS}] (0: 30), got {days}")
        since = codec.day_of(self.clock() - (days or 30) * DAY_S)
        return [codec.curve_point(r) for r in await self.repo.curve(agent_id, task_type, since, workspace_id)]

    async def query(self, req: kg_pb2.QueryExecutionsRequest) -> list[kg_pb2.ExecutionRecorded]:
        if not req.workspace_id:
            raise InvalidArgument("QueryExecutions needs workspace_id: executions are workspace-scoped")
        if req.limit < 0:
            raise InvalidArgument(f"limit must not be negative, got {req.limit}")
        since = codec.ts_seconds(req.since) if req.HasField("since") else None
        until = codec.ts_seconds(req.until) if req.HasField("until") else None
        if since is not None and until is not None and until < since:
            raise InvalidArgument("until is before since")
        rows = await self.repo.executions(
            workspace_id=req.workspace_id,
            agent_id=req.agent_id,
            task_type=req.task_type,
            task_id=req.task_id,
            since_s=since,
            until_s=until,
            limit=min(req.limit or 100, MAX_QUERY_LIMIT),
        )
        return [codec.execution_from_row(r) for r in rows if r.get("workspace_id") == req.workspace_id]

    async def sweep(self, retention_days: float) -> int:
        """Delete executions older than ``retention_days``; profiles and curves keep their counts."""
        deleted = await self.repo.delete_older_than(self.clock() - retention_days * DAY_S)
        RETENTION_DELETED.inc(deleted)
        if deleted:
            log.info("retention removed %d executions older than %.0f days", deleted, retention_days)
        return deleted
