"""The seed's assignment score, exactly, as plain functions (the bench drives these too).

``load_score = success_rate / (1 + load)``;
``total = 0.3 * load_score + 0.5 * expertise + 0.2 * confidence``.

No learning data: when *no* candidate has a learning profile with at least one execution
for the task type, the load decides alone: ``total = load_score`` with ``success_rate = 1``,
i.e. ``1 / (1 + load)``. When some candidates have data and others do not, the ones
without data start from what their manifest declares: ``success_rate = expertise =
proficiency`` and ``confidence = 0`` (a proficiency of 0, i.e. none declared, counts as the
neutral 0.5). Ties go to the lower load, then to the higher declared proficiency, then to the
smaller agent id (deterministic): on a cold start the tester, not whoever sorts first, gets
the first testing task, and so the first evidence.

:func:`score` applies the formula, and nothing else does. :func:`rank` is the reference order;
the coordinator's hot path, ``FleetView.best`` (``state.py``), keys a heap per task type by
:func:`score` in the same order and is tested against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

W_LOAD = 0.3
W_EXPERTISE = 0.5
W_CONFIDENCE = 0.2
NEUTRAL_PRIOR = 0.5


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the knowledge graph knows about one agent and one task type."""

    success_rate: float
    expertise: float
    confidence: float
    executions: int


class Score(NamedTuple):
    """One candidate's score and what it is made of; its fields are a ScoreBreakdown's. A tuple: the
    coordinator builds several per assignment and stores them field by field (``ranking.pack``).
    ``draw``, ``alpha`` and ``beta`` are the thompson policy's (``thompson.py``); 0 under the seed's."""

    success_rate: float
    load: int
    load_score: float
    expertise: float
    confidence: float
    total: float
    learning_data: bool
    draw: float = 0.0
    alpha: float = 0.0
    beta: float = 0.0

    @property
    def policy(self) -> str:
        """The policy that ranked with this score: ``thompson`` (it has Beta parameters) or ``seed``."""
        return "thompson" if self.alpha > 0 else "seed"


class Candidate(NamedTuple):
    agent_id: str
    load: int
    evidence: Evidence | None
    proficiency: float = NEUTRAL_PRIOR  # declared in the agent's manifest, see prior()


def prior(proficiency: float) -> float:
    """What an agent without data starts from: its declared proficiency; 0 (none) is neutral."""
    return proficiency if proficiency > 0 else NEUTRAL_PRIOR


def load_score(success_rate: float, load: int) -> float:
    return success_rate / (1 + max(0, load))


def total(load_score_: float, expertise: float, confidence: float) -> float:
    return W_LOAD * load_score_ + W_EXPERTISE * expertise + W_CONFIDENCE * confidence


def has_data(evidence: Evidence | None) -> bool:
    return evidence is not None and evidence.executions > 0


def score(load: int, evidence: Evidence | None, *, learning: bool, proficiency: float = NEUTRAL_PRIOR) -> Score:
    """The score of one candidate; ``learning`` is False when no candidate has data. The one place
    the formula is applied: ``rank`` and the view's heaps (``state.py``) both take it from here."""
    if not learning:
        ls = load_score(1.0, load)
        return Score(1.0, load, ls, 0.0, 0.0, ls, False)
    if evidence is None or evidence.executions <= 0:
        p = prior(proficiency)
        ls = load_score(p, load)
        return Score(p, load, ls, p, 0.0, total(ls, p, 0.0), False)
    ls = load_score(evidence.success_rate, load)
    t = total(ls, evidence.expertise, evidence.confidence)
    return Score(evidence.success_rate, load, ls, evidence.expertise, evidence.confidence, t, True)


def rank(candidates: Sequence[Candidate]) -> list[tuple[Candidate, Score]]:
    """Every candidate with its score, best first."""
    learning = any(has_data(c.evidence) for c in candidates)
    scored = [(c, score(c.load, c.evidence, learning=learning, proficiency=c.proficiency)) for c in candidates]
    scored.sort(key=lambda cs: (-cs[1].total, cs[0].load, -prior(cs[0].proficiency), cs[0].agent_id))
    return scored
