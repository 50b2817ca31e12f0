"""The workflow engine: runs of templates, each transition checkpointed before it has effects.

Every change of a run goes through :meth:`WorkflowEngine.change`: read the run (this process's
copy, or the store's), plan the transition on a draft (:mod:`.transitions`, pure), store it with
one conditional write guarded by the run's version (:meth:`.WorkflowRepository.write`), and only
then publish its effects (:mod:`.effects`). So:

- a transition is applied once: replayed after a crash, or delivered twice, it finds the stage
  already moved and changes nothing; a copy gone stale (another writer) is refused by the store
  and the run is read again;
- what a stored transition implies is published again when the same event comes back (a replay
  re-asserts the run's effects: the tasks of its running stages, the cancels of its cancelled
  ones; JetStream drops a re-published task by its msg id), and the recovery pass at start and
  the sweep (:mod:`.recovery`) publish what a crash between the write and the publish lost;
- changes of one run are serialised in the process (a lock per run), so concurrent outcomes of
  parallel stages do not race for the version; the lock is held until a change's effects are
  written to the connection (so they go out in the order of the changes), not while their
  acknowledgements come back; outcomes of one run that arrive together (parallel stages ending
  at once) are planned on one draft and stored with one write (:meth:`WorkflowEngine.on_outcome`;
  :mod:`.together`), and an execution's outcome is stored in one transaction with its task's finish
  (:meth:`WorkflowEngine.on_execution`), so a stage done costs one round trip, not two;
  changes of different runs are written together
  (a group commit of up to ``WRITE_BATCH``, each guarded on its own: one store round trip for
  many runs, which is what keeps a stage's successors close behind it under load), and so are
  the runs being started (a group commit of their own, so a burst of starts costs the store a
  round trip per batch, not per run).

Requests name their workspace; a run of another workspace is NotFound, as one that does not
exist, so its existence is not revealed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from vapora_core.aio import KeyedLocks
from vapora_core.batching import Batcher
from vapora_core.errors import AlreadyExists, InvalidArgument, NotFound, Unavailable
from vapora_swarm_coordinator.records import Clock
from vapora_swarm_coordinator.workflows import definitions, metrics, transitions
from vapora_swarm_coordinator.workflows.catalogue import Catalogue
from vapora_swarm_coordinator.workflows.definitions import WorkflowDef
from vapora_swarm_coordinator.workflows.draft import Draft, GateCall, Outcome
from vapora_swarm_coordinator.workflows.effects import Effects, stored
from vapora_swarm_coordinator.workflows.model import RUN_STATES, RUNNING, WAITING_APPROVAL, Run, Stage, branch_for
from vapora_swarm_coordinator.workflows.repository import WorkflowRepository, Write, Written
from vapora_swarm_coordinator.workflows.templates import Template, Templates
from vapora_swarm_coordinator.workflows.together import Plan, Queued, Settling, answer, each, settled

log = logging.getLogger("vapora.coordinator.workflows")

RUN_ID = re.compile(r"[0-9a-f]{16}")
WRITE_ATTEMPTS = 8
WRITE_BATCH = 32  # transitions per store round trip: larger transactions cost the engine more per item
MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class StartRequest:
    workspace_id: str
    workflow: str
    title: str
    description: str = ""
    project_id: str = ""
    actor: str = ""
    run_id: str = ""

    def check(self) -> None:
        if not self.workspace_id:
            raise InvalidArgument("StartWorkflowRun needs workspace_id")
        if not self.workflow:
            raise InvalidArgument("StartWorkflowRun needs workflow (a template name)")
        if not self.title.strip() or len(self.title) > 500:
            raise InvalidArgument("title must be 1 to 500 characters")
        if len(self.description) > 100_000:
            raise InvalidArgument(f"description is {len(self.description)} characters; the limit is 100000")
        if len(self.project_id) > 64:
            raise InvalidArgument("project_id is longer than 64 characters")
        if self.run_id and RUN_ID.fullmatch(self.run_id) is None:
            raise InvalidArgument(f"run_id must be 16 lowercase hex digits, not {self.run_id[:40]!r}")


class WorkflowEngine:
    def __init__(
        self,
        repo: WorkflowRepository,
        templates: Templates,
        effects: Effects,
        *,
        catalogue: Callable[[], Catalogue],
        refresh: Callable[[], Awaitable[None]],
        clock: Clock,
    ) -> None:
        self.repo = repo
        self.templates = templates
        self.effects = effects
        self.catalogue = catalogue
        self.refresh = refresh
        self.clock = clock
        self.waiting = metrics.Waiting()
        self._locks = KeyedLocks()
        self._cache: dict[str, Run] = {}  # runs in progress this process has read or written
        self._outcomes: dict[str, list[Queued]] = {}  # run → outcomes waiting for its lock (_together)
        self._writes: Batcher[Write, Written] = Batcher(
            repo.write_each,
            name="workflow-transitions",
            max_batch=WRITE_BATCH,
            on_write=metrics.round_trips("workflow"),
        )
        self._creates: Batcher[Run, bool] = Batcher(
            repo.create_many,
            name="workflow-starts",
            max_batch=WRITE_BATCH,
            on_write=metrics.round_trips("workflow_start"),
        )

    # -- templates ---------------------------------------------------------------------------

    async def list_templates(self, workspace_id: str) -> list[Template]:
        if not workspace_id:
            raise InvalidArgument("ListWorkflows needs workspace_id")
        return await self.templates.list(workspace_id)

    async def create_template(self, workspace_id: str, data: dict[str, object], actor: str) -> Template:
        if not workspace_id:
            raise InvalidArgument("CreateWorkflow needs workspace_id")
        definition = definitions.parse(data)
        if not self.catalogue().known:
            await self.refresh()
        return await self.templates.create(workspace_id, definition, actor, self.clock())

    # -- runs ----------------------------------------------------------------------------------

    async def start(self, req: StartRequest) -> Run:
        """Start a run of ``req.workflow``: its first stages' tasks are submitted at once."""
        req.check()
        template = await self.templates.get(req.workspace_id, req.workflow)
        frozen = await self._resolved(template.definition)
        now = self.clock()
        run_id = req.run_id or secrets.token_hex(8)
        run = Run(
            id=run_id,
            workspace_id=req.workspace_id,
            workflow=frozen.name,
            template=frozen,
            title=req.title.strip(),
            description=req.description,
            project_id=req.project_id,
            branch=branch_for(run_id),
            created_by=req.actor,
            created_s=now,
            updated_s=now,
            stages={s.id: Stage(s.id, kind=s.kind) for s in frozen.stages},
        )
        draft = Draft.of(run, now)
        transitions.advance(draft)
        async with self._locks.hold(run_id):
            if not await self._creates.submit(draft.run):
                existing = await self.repo.read(run_id)
                if existing is None or existing.workspace_id != req.workspace_id or existing.workflow != frozen.name:
                    raise AlreadyExists(f"run id {run_id} is taken")
                sent = await self.effects.send(existing, [], transitions.reassert(existing, now), announce=False)
                run = existing
            else:
                self._stored(None, draft)
                sent = await self.effects.send(draft.run, draft.changed_stages, draft.effects)
                run = draft.run
                log.info("workflow run %s of %s started in %s", run_id, frozen.name, req.workspace_id)
        await stored(sent)
        return run

    async def _resolved(self, d: WorkflowDef) -> WorkflowDef:
        """``d`` with role-only stages' task types decided, checked against the fleet now."""
        if not self.catalogue().known:
            await self.refresh()
        catalogue = self.catalogue()
        if not catalogue.known:
            raise Unavailable("cannot start a run: agent-registry has not answered yet, so no agent is known")
        return definitions.resolved(d, catalogue)

    async def get(self, workspace_ids: Collection[str], run_id: str) -> Run:
        if not run_id:
            raise InvalidArgument("run_id is required")
        if not workspace_ids or not all(workspace_ids):
            raise InvalidArgument("workspace_id is required")
        run = await self.repo.read(run_id)
        if run is None or run.workspace_id not in workspace_ids:
            raise NotFound(f"no workflow run {run_id}")
        return run

    async def page(self, workspace_id: str, state: str, token: str, size: int) -> tuple[list[Run], str]:
        """Runs of a workspace, newest first; the token of the next page ("" on the last)."""
        if not workspace_id:
            raise InvalidArgument("ListWorkflowRuns needs workspace_id")
        if state and state not in RUN_STATES:
            raise InvalidArgument(f"state must be one of {', '.join(RUN_STATES)}")
        limit = min(MAX_PAGE, size or 20)
        if size < 0:
            raise InvalidArgument("page_size must not be negative")
        before = _position(token) if token else None
        runs = await self.repo.page(workspace_id, state, before, limit + 1)
        more = len(runs) > limit
        runs = runs[:limit]
        return runs, (f"{runs[-1].created_ns}:{runs[-1].id}" if more and runs else "")

    # -- what happens to a run -------------------------------------------------------------------

    async def approve(self, workspace_id: str, run_id: str, call: GateCall) -> Run:
        return await self.change(run_id, lambda d: transitions.approve(d, call), workspace_id)

    async def reject(self, workspace_id: str, run_id: str, call: GateCall) -> Run:
        return await self.change(run_id, lambda d: transitions.reject(d, call), workspace_id)

    async def cancel(self, workspace_id: str, run_id: str, actor: str, reason: str) -> Run:
        return await self.change(run_id, lambda d: transitions.cancel(d, actor, reason), workspace_id)

    async def pause(self, workspace_id: str, run_id: str) -> Run:
        return await self.change(run_id, transitions.pause, workspace_id)

    async def resume(self, workspace_id: str, run_id: str) -> Run:
        return await self.change(run_id, transitions.resume, workspace_id)

    async def on_outcome(self, run_id: str, o: Outcome) -> None:
        """The task of a stage's attempt finished (an execution, or its assignment failed)."""
        try:
            await self._together(run_id, lambda d: transitions.outcome(d, o))
        except NotFound:
            log.info("outcome of task %s of unknown workflow run %s ignored", o.task_id, run_id)

    async def on_execution(self, run_id: str, o: Outcome, settling: Settling) -> None:
        """:meth:`on_outcome` of an execution whose task's finish (``settling``) is written with the
        transition, in one transaction: the stage is done, and its successors start, with one store
        round trip. Not written (``settling.written``: the outcome changes nothing, no such run),
        the caller finishes the task and tells :meth:`on_outcome`, as for any task."""
        with contextlib.suppress(NotFound):  # not written: the caller's on_outcome says so
            await self._together(run_id, lambda d: transitions.outcome(d, o), settling)

    async def _together(self, run_id: str, plan: Plan, settling: Settling | None = None) -> Run:
        """:meth:`change` for an outcome, planned with the other outcomes of the run waiting then.

        Parallel stages finish together; one at a time, the second would wait for the first's
        write and then pay its own. Here whoever gets the run's lock plans every outcome of the run
        queued by then on one draft, in arrival order (an outcome only changes what it finds its
        attempt running, so each applies as it would alone), stores them with one write (their
        finishes with it) and answers all of them. With other stages of the run running, it lets
        the event loop turn once first, so that outcomes delivered with its own are queued."""
        if not run_id:
            raise InvalidArgument("run_id is required")
        mine = Queued(plan, asyncio.get_running_loop().create_future(), settling)
        self._outcomes.setdefault(run_id, []).append(mine)
        async with self._locks.hold(run_id):
            if mine.taken:  # planned with an outcome before it
                batch: list[Queued] = []
            else:
                if self._parallel(run_id):
                    await asyncio.sleep(0)
                batch = self._outcomes.pop(run_id, [])
                for queued in batch:
                    queued.taken = True
                try:
                    settlings = [q.settling for q in batch if q.settling is not None]
                    run, sent = await self._apply(run_id, each(batch), None, settlings)
                except BaseException as exc:
                    answer(batch, mine, exc)
                    raise
        if not batch:
            return await mine.done
        try:
            await stored(sent)
        except BaseException as exc:
            answer(batch, mine, exc)
            raise
        answer(batch, mine, run)
        return run

    def _parallel(self, run_id: str) -> bool:
        """Whether another stage of the run is running (this process's copy says so)."""
        run = self._cache.get(run_id)
        return run is not None and sum(1 for st in run.stages.values() if st.state == RUNNING) > 1

    async def change(self, run_id: str, plan: Plan, workspace_id: str | None = None) -> Run:
        """Apply ``plan`` to the run and store it (see the module docstring); the run as it is now.

        ``workspace_id``: the caller's, checked (NotFound for another workspace's run); None for
        the coordinator's own events. A plan that changes nothing re-asserts the run's effects."""
        if workspace_id is not None and not workspace_id:
            raise InvalidArgument("workspace_id is required")
        if not run_id:
            raise InvalidArgument("run_id is required")
        async with self._locks.hold(run_id):
            run, sent = await self._apply(run_id, plan, workspace_id)
        await stored(sent)
        return run

    async def _apply(
        self, run_id: str, plan: Plan, workspace_id: str | None, settlings: Sequence[Settling] = ()
    ) -> tuple[Run, list[asyncio.Future[Any]]]:
        """:meth:`change` while the run's lock is held: the run as it is now, and its effects sent
        (in order on the connection) but not yet acknowledged. ``settlings``: finishes to write with
        the transition (each once; a transition refused is planned again without the outcomes whose
        finish did not apply, and written without the finishes already stored)."""
        sent: list[asyncio.Future[Any]] = []  # the announcements of the finishes stored
        for _ in range(WRITE_ATTEMPTS):
            run = self._cache.get(run_id) or await self.repo.read(run_id)
            if run is None or (workspace_id is not None and run.workspace_id != workspace_id):
                raise NotFound(f"no workflow run {run_id}")
            draft = Draft.of(run, self.clock())
            plan(draft)
            if not draft.changed:
                return run, sent + await self.effects.send(
                    run, [], transitions.reassert(run, draft.now), announce=False
                )
            before = run.state
            pending = [s for s in settlings if not s.written]
            finishes = tuple(s.finish for s in pending)
            write = Write(run.version, draft.stamped(), draft.stage_changes, tuple(draft.decisions), finishes)
            written = await self._writes.submit(write)
            sent += await settled(pending, written.holders)
            if written.stored:
                self._stored(before, draft)
                return draft.run, sent + await self.effects.send(draft.run, draft.changed_stages, draft.effects)
            self._cache.pop(run_id, None)  # someone else moved it (or a finish was refused): read it again
        raise Unavailable(f"workflow run {run_id} kept changing under {WRITE_ATTEMPTS} attempts to change it")

    def _stored(self, before: str | None, draft: Draft) -> None:
        """Bookkeeping once a transition is stored: the cache, the metrics."""
        run = draft.run
        if run.final:
            self._cache.pop(run.id, None)
        else:
            self._cache[run.id] = run
        metrics.moved(before, run.state)
        metrics.stage_finished(run.workflow, draft.finished)
        for sid in draft.changed_stages:
            st = run.stages[sid]
            self.waiting.set(run.id, sid, st.started_s if st.state == WAITING_APPROVAL else None)

    def forget(self, run_id: str) -> None:
        """Drop this process's copy of a run (the next change reads the store)."""
        self._cache.pop(run_id, None)


CURSOR = re.compile(r"([0-9]{1,19}):([0-9a-f]{16})")
INT64_MAX = 2**63 - 1


def _position(token: str) -> tuple[int, str]:
    """A page token, ``<created_ns>:<run id>``: every token of that form is a position (one later
    than any run reads as "from the newest"); any other form is InvalidArgument."""
    m = CURSOR.fullmatch(token)
    if m is None:
        raise InvalidArgument(f"page_token {token[:80]!r} is not one this service gave out")
    return min(int(m.group(1)), INT64_MAX), m.group(2)
