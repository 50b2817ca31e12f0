"""The coordinator: one object the bus edges, the gRPC edge and the app hold, made of one part per job.

- ``assigning.py``: first assignments, one task or a worker's batch; waiting for room.
- ``settling.py``: executions → DONE / FAILED.
- ``cancels.py``: cancels.
- ``reassigning.py``: agents that are no longer healthy, job timeouts, reassigns.
- ``retention.py``: the records of tasks that ended long ago.
- ``announce.py``: what all of them publish; ``records.py``: the record they store.
- ``lookups.py``: the registry and knowledge graph, asked when the view's feeds have not told it.
- ``workflows/``: runs of workflow templates, whose stages are tasks like any other; the parts
  above tell it when a stage's task ends (``stage_outcomes.py``).

They share the in-memory view (``state.py``: agents, profiles, load), the room queue
(``waiting.py``) and the group commit (``batching.py``). :meth:`Coordinator.explain` reads a
record back as a plain :class:`~vapora_swarm_coordinator.records.Explanation`; the gRPC edge
maps it to protobuf.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from vapora.agents.v1 import agents_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Delivery
from vapora_core.errors import InvalidArgument, NotFound
from vapora_swarm_coordinator import records, retention, thompson
from vapora_swarm_coordinator.announce import Announcer, Publisher
from vapora_swarm_coordinator.assigning import Assigner
from vapora_swarm_coordinator.batching import GroupCommit
from vapora_swarm_coordinator.cancels import Canceller
from vapora_swarm_coordinator.clients import KgClient, RegistryClient
from vapora_swarm_coordinator.lookups import Lookups
from vapora_swarm_coordinator.reassigning import Reassigner
from vapora_swarm_coordinator.records import Clock, Explanation, Row
from vapora_swarm_coordinator.repository import AssignmentRepository
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_swarm_coordinator.settling import Settler
from vapora_swarm_coordinator.stage_outcomes import StageOutcomes
from vapora_swarm_coordinator.state import FleetView
from vapora_swarm_coordinator.tokens import job_tokens
from vapora_swarm_coordinator.waiting import RoomQueue
from vapora_swarm_coordinator.workflows.catalogue import Catalogue
from vapora_swarm_coordinator.workflows.effects import Effects
from vapora_swarm_coordinator.workflows.engine import WorkflowEngine
from vapora_swarm_coordinator.workflows.recovery import Recovery
from vapora_swarm_coordinator.workflows.repository import WorkflowRepository
from vapora_swarm_coordinator.workflows.templates import Templates

__all__ = ["Clock", "Coordinator"]


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
        self.clock = clock
        self.view = FleetView(thompson.Sampler(clock=clock) if settings.assignment_policy == "thompson" else None)
        self.waiting = RoomQueue()
        self.view.on_room = self.waiting.room_freed
        self.commits = GroupCommit(repo, finish_flush_at=settings.execution_workers)
        self.lookups = Lookups(self.view, registry=registry, kg=kg, registry_refresh_s=settings.registry_refresh_s)
        announcer = Announcer(bus, clock, self.view, job_tokens(settings.job_signing_key, settings.job_timeout_s))
        workflow_repo = WorkflowRepository(repo.store, fence=repo.fence)
        self.workflows = WorkflowEngine(
            workflow_repo,
            Templates(workflow_repo, settings.config_dir / "workflows.toml", self.catalogue),
            Effects(bus, clock),
            catalogue=self.catalogue,
            refresh=lambda: self.lookups.refresh_registry(force=True),
            clock=clock,
        )
        self.recovery = Recovery(self.workflows, repo, clock, settings.workflow_reconcile_s)
        stages = StageOutcomes(self.workflows)
        self._assigning = Assigner(
            settings=settings,
            repo=repo,
            commits=self.commits,
            view=self.view,
            waiting=self.waiting,
            lookups=self.lookups,
            announcer=announcer,
            clock=clock,
            stages=stages,
        )
        self._settling = Settler(
            repo=repo, commits=self.commits, view=self.view, announcer=announcer, clock=clock, stages=stages
        )
        self._cancels = Canceller(repo=repo, view=self.view, announcer=announcer, clock=clock)
        self._reassigning = Reassigner(
            settings=settings, repo=repo, view=self.view, announcer=announcer, clock=clock, stages=stages
        )

    # -- start-up and the view's lookups -------------------------------------------------

    async def restore(self) -> None:
        """Rebuild the load per agent from the assignments still held."""
        for row in await self.repo.active():
            self.view.add_load(str(row["agent_id"]), 1)

    async def refresh_registry(self, *, force: bool = False) -> None:
        await self.lookups.refresh_registry(force=force)

    def catalogue(self) -> Catalogue:
        """The task types and roles of the registered agents, for workflow templates."""
        return Catalogue.of(self.view.agents.values(), known=self.view.registry_loaded)

    async def start_workflows(self) -> None:
        """Once the bus runs: the shared templates read (ConfigError if the file does not validate),
        then what a crash left of the runs in progress recovered (``workflows/recovery.py``)."""
        self.workflows.templates.load()
        await self.recovery.recover()

    # -- the jobs ------------------------------------------------------------------------

    async def assign(self, task: tasks_pb2.Task, *, published_s: float | None = None) -> Row:
        return await self._assigning.assign(task, published_s=published_s)

    async def assign_batch(self, batch: Sequence[tuple[tasks_pb2.Task, Delivery]]) -> list[BaseException | None]:
        return await self._assigning.assign_batch(batch)

    async def on_execution(self, e: kg_pb2.ExecutionRecorded) -> None:
        await self._settling.on_execution(e)

    async def on_cancel(self, c: tasks_pb2.TaskCancelled) -> None:
        await self._cancels.on_cancel(c)

    async def on_agents_changed(self, ev: agents_pb2.AgentsChanged) -> None:
        await self._reassigning.on_agents_changed(ev)

    async def sweep_timeouts(self) -> int:
        return await self._reassigning.sweep_timeouts()

    async def reassign(self, row: Row, *, why: str) -> Row | None:
        return await self._reassigning.reassign(row, why=why)

    async def sweep_retention(self) -> int:
        return await retention.sweep(self.repo, days=self.settings.retention_days, now_s=self.clock())

    # -- explain -------------------------------------------------------------------------

    async def explain(self, task_id: str, workspace_id: str) -> Explanation:
        """Why ``task_id`` went where it went; NotFound for another workspace's task, or one whose
        record is gone (not assigned yet, or ended over ``retention_days`` ago)."""
        if not task_id or not workspace_id:
            raise InvalidArgument("ExplainAssignment needs task_id and workspace_id")
        row = await self.repo.get(task_id)
        if row is None or row.get("workspace_id") != workspace_id:
            raise NotFound(
                f"no assignment for task {task_id} in workspace {workspace_id} (not assigned yet, or ended"
                f" over {self.settings.retention_days:g} days ago)"
            )
        return records.explanation(row)
