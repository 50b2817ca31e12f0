"""SurrealDB access of workflow templates, runs, stages and gate decisions (``coordinator`` namespace).

Records are those of :mod:`.model`, plus ``workflow_template:<workspace>/<name>`` (a template made
through the API: its definition, who made it and when) and ``workflow_frozen:<key>`` (the frozen
definition runs were started from, keyed by its content: one record for all the runs of one
template, which a run's ``template`` links to, so a transition does not rewrite it).

Every transition is one conditional write (:class:`Write`, stored by
:meth:`WorkflowRepository.write_each`): the run's record is updated only if its ``version`` is still
the one the transition was planned on, and only then are the changed stages and the new gate
decisions written, all inside ``BEGIN … COMMIT``. A transition planned on a stale copy (another
writer, a replay) writes nothing and says so; the caller reads the run again. A transition may
carry the finishes of the stage tasks whose outcomes it applies (an execution's): they are written
first in the same transaction, and the transition only if every one of them applied. Transitions
of many runs are written together (the engine's group commit), each guarded on its own. Creating runs
(:meth:`create_many`, the engine's group commit of starts) inserts each run and its stages only if
the run id is new, so a retried start is one run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from surrealdb import RecordID

from vapora_core.errors import AlreadyExists, Internal, InvalidArgument
from vapora_core.store import Row, Store
from vapora_swarm_coordinator.repository import Finish, Holder, finish_update, holder_of, no_fence
from vapora_swarm_coordinator.workflows import definitions
from vapora_swarm_coordinator.workflows.definitions import WorkflowDef
from vapora_swarm_coordinator.workflows.model import Decision, Run, decision_key, stage_key

SCHEMA: tuple[str, ...] = (
    "DEFINE TABLE IF NOT EXISTS workflow_template SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS workflow_template_ws ON workflow_template FIELDS workspace_id",
    "DEFINE TABLE IF NOT EXISTS workflow_frozen SCHEMALESS",
    "DEFINE TABLE IF NOT EXISTS workflow_run SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS workflow_run_ws ON workflow_run FIELDS workspace_id, created_ns",
    "DEFINE INDEX IF NOT EXISTS workflow_run_state ON workflow_run FIELDS state",
    "DEFINE TABLE IF NOT EXISTS workflow_stage SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS workflow_stage_run ON workflow_stage FIELDS run_id",
    "DEFINE INDEX IF NOT EXISTS workflow_stage_state ON workflow_stage FIELDS state",
    "DEFINE TABLE IF NOT EXISTS workflow_decision SCHEMALESS",
    "DEFINE INDEX IF NOT EXISTS workflow_decision_run ON workflow_decision FIELDS run_id",
)

# Runs and their stages, each run only if its id is new (``$new``: the ids that were); the frozen
# definitions they link to, each once.
_CREATE = """
BEGIN;
FOR $t IN $frozen { INSERT IGNORE INTO workflow_frozen $t; };
LET $new = (INSERT IGNORE INTO workflow_run $runs RETURN VALUE record::id(id));
FOR $s IN $stages { IF $s.row.run_id IN $new { CREATE type::thing('workflow_stage', $s.key) CONTENT $s.row; }; };
RETURN $new;
COMMIT;
"""
# One transition of a batch: the run only if it is still at the version seen (and every finish it
# carries applied: ``{applied}``), then its stages and decisions only if the run was; ``$ok<i>``
# says whether it was (``[version]`` or ``[]``).
_GUARDED = (
    "LET $ok{i} = (UPDATE type::thing('workflow_run', $w{i}.id) MERGE $w{i}.run WHERE version = $w{i}.seen{applied}"
    " RETURN VALUE version);\n"
    "IF $ok{i} {{ FOR $s IN $w{i}.stages {{ UPDATE type::thing('workflow_stage', $s.key) MERGE $s.changes; }};"
    " FOR $d IN $w{i}.decisions {{ CREATE type::thing('workflow_decision', $d.key) CONTENT $d.row; }}; }};"
)


@dataclass(frozen=True, slots=True)
class Write:
    """A planned transition: ``run`` (its version bumped), the fields it changed of each stage
    (``stages``) and its new ``decisions``, to be stored if the stored run is still at version
    ``seen``. Only what changed is written: a run's template and a stage's other fields stay.

    ``finishes``: the assignments of the stage tasks whose outcomes the transition applies,
    finished in the same transaction, before it (each applied only while its job holds its task,
    as :meth:`AssignmentRepository.finish`); the transition is stored only if every one of them
    applied, so an execution that is not its task's current one moves no stage."""

    seen: int
    run: Run
    stages: dict[str, dict[str, object]]
    decisions: tuple[Decision, ...]
    finishes: tuple[Finish, ...] = ()

    def vars(self, i: int) -> dict[str, Any]:
        """The variables of :meth:`statements`: ``$w<i>``, the transition, and a finish's own
        (``$t``, ``$j``, ``$c``, ``$a`` suffixed ``<i>_<k>``: top-level variables cost the engine
        less than the fields of one)."""
        run = self.run
        out: dict[str, Any] = {
            f"w{i}": {
                "id": run.id,
                "seen": self.seen,
                "run": run.progress(),
                "stages": [{"key": stage_key(run.id, sid), "changes": c} for sid, c in self.stages.items()],
                "decisions": [
                    {"key": decision_key(run.id, d.gate_id, d.round), "row": d.row(run.id)} for d in self.decisions
                ],
            }
        }
        for k, f in enumerate(self.finishes):
            out[f"t{i}_{k}"], out[f"j{i}_{k}"], out[f"c{i}_{k}"] = f.task_id, f.job_id, f.changes
            if f.agent_id:
                out[f"a{i}_{k}"] = f.agent_id
        return out

    def statements(self, i: int) -> str:
        """This write as the ``i``-th of a batch: its finishes (``$f<i>_<k>``: each one's result),
        then the transition, guarded on its version and on every finish having applied."""
        carried = []
        for k, f in enumerate(self.finishes):
            n = f"{i}_{k}"
            update = finish_update(f"$t{n}", f"$j{n}", f"$c{n}", f"$a{n}" if f.agent_id else "")
            carried.append(f"LET $f{n} = ({update});")
        applied = "".join(f" AND $f{i}_{k}" for k in range(len(self.finishes)))
        return "\n".join([*carried, _GUARDED.format(i=i, applied=applied)])

    def result(self, i: int) -> str:
        """The SurrealQL of what :meth:`statements` answers: ``[$ok<i>, [$f<i>_0, …]]``."""
        return f"[$ok{i}, [{', '.join(f'$f{i}_{k}' for k in range(len(self.finishes)))}]]"


@dataclass(frozen=True, slots=True)
class Written:
    """What became of a :class:`Write`: whether its transition was stored, and the result of each of
    its finishes (who held the task, or None: not applied), in order."""

    stored: bool
    holders: tuple[Holder | None, ...] = ()


_READ = """
SELECT * FROM ONLY type::thing('workflow_run', $id) FETCH template;
SELECT * FROM workflow_stage WHERE run_id = $id;
SELECT * FROM workflow_decision WHERE run_id = $id;
"""
FROZEN_CACHE = 1024  # frozen definitions kept parsed (a few per workspace's templates)
_TEMPLATE = "CREATE type::thing('workflow_template', $key) CONTENT $row RETURN NONE"


def frozen_key(data: dict[str, Any]) -> str:
    """The key of a frozen definition (as plain data): a digest of its content."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


class WorkflowRepository:
    """``fence``: called before every write, as the assignments' (``AssignmentRepository``)."""

    def __init__(self, store: Store, *, fence: Callable[[], None] = no_fence) -> None:
        self.store = store
        self.fence = fence
        self._frozen: dict[str, WorkflowDef] = {}  # frozen definitions read, by key (never change)

    def _template(self, row: Row) -> WorkflowDef:
        """The frozen definition of a run's record: the ``workflow_frozen`` record its ``template``
        links to (fetched with it)."""
        template = row["template"]
        key = str(template["id"])
        found = self._frozen.get(key)
        if found is None:
            found = definitions.from_data(template["definition"])
            if len(self._frozen) < FROZEN_CACHE:
                self._frozen[key] = found
        return found

    # -- templates ---------------------------------------------------------------------------

    async def templates(self, workspace_id: str) -> list[Row]:
        return await self.store.query(
            "SELECT * FROM workflow_template WHERE workspace_id = $ws ORDER BY name", {"ws": workspace_id}
        )

    async def template(self, workspace_id: str, name: str) -> Row | None:
        return await self.store.one(
            "SELECT * FROM ONLY type::thing('workflow_template', $key)", {"key": f"{workspace_id}/{name}"}
        )

    async def create_template(self, workspace_id: str, name: str, row: dict[str, Any]) -> None:
        """Store a workspace's template; AlreadyExists when the workspace has one of that name."""
        key = f"{workspace_id}/{name}"
        self.fence()
        try:
            await self.store.execute(_TEMPLATE, {"key": key, "row": row})
        except InvalidArgument as exc:
            if "already exists" in str(exc).lower():
                raise AlreadyExists(f"workspace {workspace_id} already has a workflow named {name!r}") from None
            raise

    # -- runs ----------------------------------------------------------------------------------

    async def create(self, run: Run) -> bool:
        """Store a new run and its stages; False when a run with that id exists (a retried start)."""
        return (await self.create_many([run]))[0]

    async def create_many(self, runs: Sequence[Run]) -> list[bool]:
        """:meth:`create` for each of ``runs``, in one transaction: whether each was new, in order
        (a run id twice in ``runs``: the first one is created, the second is not new)."""
        self.fence()
        frozen: dict[str, dict[str, Any]] = {}
        rows, stages = [], []
        for run in {run.id: run for run in reversed(runs)}.values():  # each id once, its first
            data = definitions.as_data(run.template)
            key = frozen_key(data)
            frozen.setdefault(key, {"id": key, "definition": data})
            rows.append({"id": run.id, **run.fields(), "template": RecordID("workflow_frozen", key)})
            stages += [{"key": stage_key(run.id, sid), "row": st.row(run.id)} for sid, st in run.stages.items()]
        results = await self.store.execute(_CREATE, {"frozen": list(frozen.values()), "runs": rows, "stages": stages})
        new = results[-1] if results else None
        if not isinstance(new, list):
            raise Internal(f"store {self.store.namespace}: creating {len(runs)} workflow runs answered {new!r:.200}")
        created = {str(run_id) for run_id in new}
        out = []
        for run in runs:
            out.append(run.id in created)
            created.discard(run.id)  # the first of a run id twice in ``runs`` was the new one
        return out

    async def write_many(self, writes: Sequence[Write]) -> list[bool]:
        """:meth:`write_each`: whether each transition was stored, in order."""
        return [written.stored for written in await self.write_each(writes)]

    async def write_each(self, writes: Sequence[Write]) -> list[Written]:
        """Every write in one transaction, each applied only if its run is still at the version it
        was planned on and its finishes applied (see :class:`Write`); what became of each, in order.
        Transitions of different runs do not touch the same records; two of one run are never in one
        batch (the engine writes a run's changes one at a time)."""
        self.fence()
        statements = [w.statements(i) for i, w in enumerate(writes)]
        answers = ", ".join(w.result(i) for i, w in enumerate(writes))
        sql = "BEGIN;\n" + "\n".join(statements) + f"\nRETURN [{answers}];\nCOMMIT;"
        results = await self.store.execute(sql, {k: v for i, w in enumerate(writes) for k, v in w.vars(i).items()})
        last = results[-1] if results else None
        if not isinstance(last, list) or len(last) != len(writes):
            raise Internal(f"store {self.store.namespace}: {len(writes)} workflow writes answered {last!r:.200}")
        return [_written(answer) for answer in last]

    async def read(self, run_id: str) -> Run | None:
        results = await self.store.execute(_READ, {"id": run_id})
        row, stages, decisions = [*results, None, [], []][:3]
        if not isinstance(row, dict):
            return None
        return Run.of(row, self._template(row), list(stages or []), list(decisions or []))

    async def page(self, workspace_id: str, state: str, before: tuple[int, str] | None, limit: int) -> list[Run]:
        """Runs of ``workspace_id`` newest first (``before``: after this position of the previous page)."""
        where = ["workspace_id = $ws"]
        vars_: dict[str, Any] = {"ws": workspace_id, "limit": limit}
        if state:
            where.append("state = $state")
            vars_["state"] = state
        if before is not None:
            where.append("(created_ns < $at OR (created_ns = $at AND record::id(id) < $rid))")
            vars_["at"], vars_["rid"] = before
        results = await self.store.execute(
            f"LET $runs = (SELECT record::id(id) AS rid, * FROM workflow_run WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY created_ns DESC, rid DESC LIMIT $limit FETCH template);"
            " RETURN $runs;"
            " SELECT * FROM workflow_stage WHERE run_id IN $runs.rid;"
            " SELECT * FROM workflow_decision WHERE run_id IN $runs.rid;",
            vars_,
        )
        rows, stages, decisions = (list(r or []) for r in results[-3:])
        by_run: dict[str, tuple[list[Row], list[Row]]] = {str(r["id"]): ([], []) for r in rows}
        for st in stages:
            by_run.get(str(st["run_id"]), ([], []))[0].append(st)
        for d in decisions:
            by_run.get(str(d["run_id"]), ([], []))[1].append(d)
        return [Run.of(r, self._template(r), *by_run[str(r["id"])]) for r in rows]

    async def unfinished(self) -> list[str]:
        """Ids of the runs still in progress (running, waiting for approval, paused)."""
        rows = await self.store.query(
            "SELECT VALUE record::id(id) FROM workflow_run WHERE state IN ['running', 'waiting_approval', 'paused']"
        )
        return [str(r) for r in rows]

    async def running_stages(self) -> list[Row]:
        """The stages whose task runs: run, stage, task id, start, deadline."""
        return await self.store.query(
            "SELECT run_id, stage_id, task_id, started_s, deadline_s FROM workflow_stage WHERE state = 'running'"
        )

    async def cancelled_since(self, since_s: float) -> list[Row]:
        """Stages whose task was cancelled since ``since_s``: run, stage, task id, detail."""
        return await self.store.query(
            "SELECT run_id, stage_id, task_id, detail FROM workflow_stage"
            " WHERE state = 'cancelled' AND task_id != '' AND finished_s >= $since",
            {"since": since_s},
        )

    async def waiting_gates(self) -> list[Row]:
        """Gates waiting for approval: run, stage, since when."""
        return await self.store.query(
            "SELECT run_id, stage_id, started_s FROM workflow_stage WHERE state = 'waiting_approval'"
        )

    async def count_by_state(self) -> dict[str, int]:
        rows = await self.store.query("SELECT state, count() AS n FROM workflow_run GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows if r.get("state")}


def _written(answer: Any) -> Written:
    """One write's answer, ``[[version] or [], [finish result, …]]``."""
    if not isinstance(answer, list) or len(answer) != 2 or not isinstance(answer[1], list):
        raise Internal(f"a workflow write answered {answer!r:.200}")
    ok, finishes = answer
    return Written(isinstance(ok, list) and bool(ok), tuple(holder_of(f) for f in finishes))
