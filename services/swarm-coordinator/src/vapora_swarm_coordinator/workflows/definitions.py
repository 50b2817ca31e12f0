"""Workflow templates: one pydantic model for ``config/workflows.toml`` and for templates made
through the API, and the checks a template must pass. Every error names the workflow, the stage
and the field.

- Shape (pydantic, :class:`WorkflowDef` / :class:`StageDef`): names ``^[a-z][a-z0-9_-]{0,62}$``,
  stage ids ``^[a-z][a-z0-9_-]{0,31}$`` (a stage's task id, ``wf-<run>-<stage>-<attempt>``, stays
  within the 64 characters an id may have at the API), bounded numbers, no unknown field.
- The graph (:func:`check_graph`): unique stage ids; ``needs``, ``inputs``, ``on_reject`` and
  ``on_failure`` name stages of the workflow; no cycle (the cycle is named); ``inputs``,
  ``on_reject`` and ``on_failure`` are ancestors; a task stage has a task type or a role and no
  gate field; a gate has approvers (workspace roles), no task field; templates use only
  ``{run.title}``, ``{run.description}`` and ``{inputs.<stage>.<field>}`` of a declared input.
- Against the fleet (:func:`check_catalogue`, :mod:`.catalogue`): task types some agent takes,
  roles some agent has, a role that takes the stage's task type.

Nothing here does I/O: :func:`parse_toml` takes the file's text.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vapora_core.errors import ConfigError, FailedPrecondition
from vapora_swarm_coordinator.workflows.catalogue import Catalogue

NAME = r"^[a-z][a-z0-9_-]{0,62}$"
STAGE_ID = r"^[a-z][a-z0-9_-]{0,31}$"
WORKSPACE_ROLES = ("owner", "admin", "member", "viewer")
PRIORITIES = ("critical", "high", "normal", "low")
INPUT_FIELDS = ("result", "verdict", "commit", "agent")
MAX_STAGES = 50
PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[A-Za-z0-9_-]+)+)\}")

Priority = Literal["critical", "high", "normal", "low"]


class StageDef(BaseModel):
    """One stage: a task (assigned like any task) or a gate (a person approves)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: str = Field(pattern=STAGE_ID)
    kind: Literal["task", "gate"] = "task"
    task_type: str = Field(default="", max_length=64, pattern=r"^[a-z0-9_-]*$")
    role: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    title: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=20_000)
    needs: tuple[str, ...] = Field(default=(), max_length=MAX_STAGES)
    inputs: tuple[str, ...] = Field(default=(), max_length=MAX_STAGES)
    retries: int = Field(default=1, ge=0, le=10)
    timeout_s: float = Field(default=1800.0, gt=0, le=7 * 86400)
    priority: Priority = "normal"
    on_failure: str = ""
    max_failure_rounds: int = Field(default=2, ge=1, le=10)
    approvers: tuple[str, ...] = Field(default=(), max_length=len(WORKSPACE_ROLES))
    on_reject: str = ""
    max_rejections: int = Field(default=2, ge=0, le=10)

    @property
    def is_gate(self) -> bool:
        return self.kind == "gate"

    def title_template(self) -> str:
        return self.title or f"{self.id}: {{run.title}}"


class WorkflowDef(BaseModel):
    """A template: a DAG of stages (``needs``), in the order they are listed."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(pattern=NAME)
    description: str = Field(default="", max_length=5000)
    stages: tuple[StageDef, ...] = Field(min_length=1, max_length=MAX_STAGES)

    def stage(self, stage_id: str) -> StageDef:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)

    def ancestors(self, stage_id: str) -> set[str]:
        """Every stage ``stage_id`` needs, directly or through others."""
        by_id = {s.id: s for s in self.stages}
        seen: set[str] = set()
        todo = list(by_id[stage_id].needs)
        while todo:
            sid = todo.pop()
            if sid not in seen and sid in by_id:
                seen.add(sid)
                todo.extend(by_id[sid].needs)
        return seen

    def descendants(self, stage_id: str) -> set[str]:
        """Every stage that needs ``stage_id``, directly or through others."""
        return {s.id for s in self.stages if stage_id in self.ancestors(s.id)}


# -- parsing --------------------------------------------------------------------------------


def _where(loc: Sequence[int | str], table: Mapping[str, Any], index: int, source: str) -> tuple[str, str]:
    """A pydantic error location in one workflow's table as ("<source>, workflow 'feature', stage
    'design'", "retries")."""
    name = table.get("name")
    parts = [source] if source else []
    parts.append(f"workflow {name!r}" if isinstance(name, str) and name else f"workflow #{index + 1}")
    items = list(loc)
    if len(items) >= 2 and items[0] == "stages" and isinstance(items[1], int):
        stages = table.get("stages")
        stage = stages[items[1]] if isinstance(stages, list) and items[1] < len(stages) else None
        sid = stage.get("id") if isinstance(stage, Mapping) else None
        parts.append(f"stage {sid!r}" if isinstance(sid, str) and sid else f"stage #{items[1] + 1}")
        items = items[2:]
    return ", ".join(parts), ".".join(str(p) for p in items) or "(all)"


def _validated(table: Mapping[str, Any], index: int, source: str) -> WorkflowDef:
    """One workflow's table as a :class:`WorkflowDef` (strict, JSON types), its graph checked."""
    try:
        definition = WorkflowDef.model_validate_json(json.dumps(dict(table), default=str))
    except ValidationError as exc:
        problems = []
        where = field = ""
        for err in exc.errors():
            where, field = _where(err["loc"], table, index, source)
            problems.append(f"{where}: field {field}: {err['msg']}")
        raise ConfigError("; ".join(problems)) from None
    check_graph(definition, source)
    return definition


def parse(data: Mapping[str, Any], source: str = "") -> WorkflowDef:
    """One template from plain data (an API body, one ``[[workflows]]`` table); its graph checked."""
    return _validated(data, 0, source)


def parse_toml(text: str, source: str = "workflows.toml") -> list[WorkflowDef]:
    """Every ``[[workflows]]`` of a TOML file; ConfigError naming the workflow, stage and field."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source) from None
    unknown = sorted(set(data) - {"workflows"})
    if unknown:
        raise ConfigError(f"unknown top-level keys {unknown}; only [[workflows]] tables", source=source)
    tables = data.get("workflows", [])
    if not isinstance(tables, list):
        raise ConfigError("workflows must be an array of tables ([[workflows]])", source=source)
    out: list[WorkflowDef] = []
    for i, table in enumerate(tables):
        if not isinstance(table, dict):
            raise ConfigError(f"workflow #{i + 1} is not a table", source=source)
        out.append(_validated(table, i, source))
    names = [d.name for d in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"workflow names must be unique; repeated: {', '.join(dup)}", source=source)
    return out


# -- the graph --------------------------------------------------------------------------------


def _problem(source: str, workflow: str, stage: str, field: str, message: str) -> ConfigError:
    where = ", ".join(p for p in (source, f"workflow {workflow!r}", f"stage {stage!r}" if stage else "") if p)
    return ConfigError(f"{where}: field {field}: {message}")


def _cycle(stages: Sequence[StageDef]) -> list[str] | None:
    """A cycle of ``needs``, as the stage ids along it (first == last), or None."""
    needs = {s.id: s.needs for s in stages}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(sid: str) -> list[str] | None:
        state[sid] = 1
        path.append(sid)
        for up in needs.get(sid, ()):
            if state.get(up) == 1:
                return [*path[path.index(up) :], up]
            if up in needs and state.get(up) is None:
                found = visit(up)
                if found:
                    return found
        path.pop()
        state[sid] = 2
        return None

    for s in stages:
        if state.get(s.id) is None:
            found = visit(s.id)
            if found:
                return list(reversed(found))
    return None


def _names(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def check_graph(d: WorkflowDef, source: str = "") -> None:
    """The checks of the module docstring's "graph" part; the first problem found is raised."""
    ids = [s.id for s in d.stages]
    for sid in ids:
        if ids.count(sid) > 1:
            raise _problem(source, d.name, sid, "id", "stage ids must be unique in a workflow")
    known = set(ids)
    for s in d.stages:
        for field in ("needs", "inputs"):
            values: tuple[str, ...] = getattr(s, field)
            unknown = [v for v in values if v not in known]
            if unknown:
                raise _problem(source, d.name, s.id, field, f"names no stage of the workflow: {_names(unknown)}")
            if s.id in values:
                raise _problem(source, d.name, s.id, field, "a stage cannot name itself")
        for field in ("on_reject", "on_failure"):
            value = getattr(s, field)
            if value and value not in known:
                raise _problem(source, d.name, s.id, field, f"names no stage of the workflow: {value!r}")
    cycle = _cycle(d.stages)
    if cycle:
        raise _problem(source, d.name, cycle[0], "needs", f"the stages form a cycle: {' -> '.join(cycle)}")
    for s in d.stages:
        ancestors = d.ancestors(s.id)
        not_upstream = [v for v in s.inputs if v not in ancestors]
        if not_upstream:
            raise _problem(
                source, d.name, s.id, "inputs", f"{_names(not_upstream)} is not upstream of it (not among its needs)"
            )
        if s.is_gate:
            _check_gate(d, s, ancestors, source)
        else:
            _check_task(d, s, ancestors, source)
        for field in ("title", "description"):
            _check_placeholders(d, s, field, source)


def _check_gate(d: WorkflowDef, s: StageDef, ancestors: set[str], source: str) -> None:
    if not s.approvers:
        raise _problem(source, d.name, s.id, "approvers", "a gate needs at least one approver role")
    bad = [r for r in s.approvers if r not in WORKSPACE_ROLES]
    if bad:
        raise _problem(source, d.name, s.id, "approvers", f"{_names(bad)}: roles are {', '.join(WORKSPACE_ROLES)}")
    for field in ("task_type", "role", "on_failure", "inputs"):
        if getattr(s, field):
            raise _problem(source, d.name, s.id, field, "a gate runs no task; only a task stage has it")
    if s.on_reject:
        _check_upstream_task(d, s, "on_reject", ancestors, source)


def _check_task(d: WorkflowDef, s: StageDef, ancestors: set[str], source: str) -> None:
    if not s.task_type and not s.role:
        raise _problem(source, d.name, s.id, "task_type", "a task stage needs a task_type or a role (or both)")
    for field in ("approvers", "on_reject"):
        if getattr(s, field):
            raise _problem(source, d.name, s.id, field, "only a gate has it")
    if s.on_failure:
        _check_upstream_task(d, s, "on_failure", ancestors, source)


def _check_upstream_task(d: WorkflowDef, s: StageDef, field: str, ancestors: set[str], source: str) -> None:
    """``s``'s ``field`` (where a rejection or a failure sends the run back) names a task stage upstream."""
    target = getattr(s, field)
    if target not in ancestors:
        raise _problem(source, d.name, s.id, field, f"{target!r} is not upstream of the {s.kind}")
    if d.stage(target).is_gate:
        raise _problem(source, d.name, s.id, field, f"{target!r} is a gate; name a task stage")


def _check_placeholders(d: WorkflowDef, s: StageDef, field: str, source: str) -> None:
    for name in PLACEHOLDER.findall(getattr(s, field)):
        parts = name.split(".")
        if parts[0] == "run" and len(parts) == 2 and parts[1] in ("title", "description"):
            continue
        if parts[0] == "inputs" and len(parts) == 3 and parts[2] in INPUT_FIELDS:
            if parts[1] not in s.inputs:
                raise _problem(
                    source, d.name, s.id, field, f"{{{name}}} names {parts[1]!r}, which is not one of its inputs"
                )
            continue
        raise _problem(
            source,
            d.name,
            s.id,
            field,
            f"unknown placeholder {{{name}}}; use {{run.title}}, {{run.description}} or"
            f" {{inputs.<stage>.{'|'.join(INPUT_FIELDS)}}}",
        )


# -- against the fleet ----------------------------------------------------------------------------


def _lacking(source: str, workflow: str, stage: str, field: str, message: str) -> FailedPrecondition:
    """What the fleet lacks for a template: a fact about the fleet, not a fault of the definition."""
    return FailedPrecondition(str(_problem(source, workflow, stage, field, message)))


def check_catalogue(d: WorkflowDef, catalogue: Catalogue, source: str = "") -> None:
    """Every task type and role of ``d`` is one some registered agent has (FailedPrecondition naming
    the workflow, stage and field: the fleet lacks it)."""
    for s in d.stages:
        if s.is_gate:
            continue
        if s.role and s.role not in catalogue.roles:
            raise _lacking(
                source, d.name, s.id, "role", f"no registered agent has role {s.role!r} ({catalogue.describe_roles()})"
            )
        if s.task_type and s.task_type not in catalogue.task_types:
            raise _lacking(
                source,
                d.name,
                s.id,
                "task_type",
                f"no registered agent takes task type {s.task_type!r} ({catalogue.describe_types()})",
            )
        if s.role and s.task_type and s.task_type not in catalogue.roles[s.role]:
            raise _lacking(
                source,
                d.name,
                s.id,
                "task_type",
                f"no agent of role {s.role!r} takes {s.task_type!r} (it takes {', '.join(catalogue.roles[s.role])})",
            )


def resolved(d: WorkflowDef, catalogue: Catalogue) -> WorkflowDef:
    """``d`` with each role-only stage's task type decided: the role's first capability (the frozen
    copy a run keeps). FailedPrecondition when the fleet lacks a type or a role."""
    check_catalogue(d, catalogue)
    stages = tuple(
        s.model_copy(update={"task_type": catalogue.roles[s.role][0]}) if not s.is_gate and not s.task_type else s
        for s in d.stages
    )
    return d.model_copy(update={"stages": stages})


def as_data(d: WorkflowDef) -> dict[str, Any]:
    """``d`` as plain data (what the store keeps): lists, not tuples."""
    return d.model_dump(mode="json")


def from_data(data: Any) -> WorkflowDef:
    """A definition :func:`as_data` made (read back from the store; checked when it was made)."""
    return WorkflowDef.model_validate_json(json.dumps(data))
