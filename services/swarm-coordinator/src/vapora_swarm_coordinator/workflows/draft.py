"""A transition being planned: a copy of a run (:class:`Draft`), what it changed, and what it asks
for once it is stored (:data:`Effect`: a stage's task to submit, a task to cancel); and the events
the transitions of :mod:`.transitions` are planned for (:class:`Outcome`, :class:`GateCall`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from vapora_swarm_coordinator.workflows.model import Decision, Run, Stage


@dataclass(frozen=True, slots=True)
class Submit:
    """Publish the task of ``stage_id``'s current attempt."""

    stage_id: str


@dataclass(frozen=True, slots=True)
class CancelTask:
    """Cancel ``task_id`` through the cancel path (its job, if any, is stopped)."""

    stage_id: str
    task_id: str
    reason: str


Effect = Submit | CancelTask


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What the task of a stage's attempt came to (from its execution, or its assignment)."""

    stage_id: str
    task_id: str
    success: bool
    agent_id: str = ""
    execution_id: str = ""
    result: str = ""
    error: str = ""
    verdict: str = ""
    commit: str = ""
    verified: bool = False
    cost_cents: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GateCall:
    """A person's approve or reject of a gate (``gate_id`` empty: the one gate waiting)."""

    gate_id: str = ""
    actor: str = ""
    role: str = ""  # the actor's workspace role, as the caller's authorization saw it
    comment: str = ""


@dataclass(slots=True)
class Draft:
    """A copy of a run and what a transition changed in it."""

    run: Run
    now: float
    stage_changes: dict[str, dict[str, object]] = field(default_factory=dict)  # stage → its changed fields
    run_changed: bool = False
    effects: list[Effect] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    finished: list[tuple[str, float]] = field(default_factory=list)  # (stage, seconds) of attempts that ended

    @classmethod
    def of(cls, run: Run, now: float) -> Draft:
        """A draft on a copy of ``run``: its stages and decisions are copied (a stage's fields are
        immutable values), its template is shared (a frozen model)."""
        stages = {sid: st.copy() for sid, st in run.stages.items()}
        return cls(dataclasses.replace(run, stages=stages, decisions=list(run.decisions)), now)

    @property
    def changed(self) -> bool:
        return self.run_changed or bool(self.stage_changes) or bool(self.decisions)

    @property
    def changed_stages(self) -> list[str]:
        """The stages the transition changed, in the order it first changed them."""
        return list(self.stage_changes)

    def stage(self, stage_id: str) -> Stage:
        return self.run.stages[stage_id]

    def update(self, stage_id: str, **changes: object) -> None:
        st = self.run.stages[stage_id]
        for name, value in changes.items():
            if getattr(st, name) != value:
                setattr(st, name, value)
                self.stage_changes.setdefault(stage_id, {})[name] = value

    def set_run(self, **changes: object) -> None:
        for name, value in changes.items():
            if getattr(self.run, name) != value:
                setattr(self.run, name, value)
                self.run_changed = True

    def stamped(self) -> Run:
        """The run as it is to be stored: one version later, updated now."""
        self.run.version += 1
        self.run.updated_s = self.now
        return self.run
