"""The seed's assignment score, exactly, as plain functions (the bench drives these too).

``load_score = success_rate / (1 + load)``;
``total = 0.3 * load_score + 0.5 * expertise + 0.2 * confidence``.

No learning data: when *no* candidate has a learning profile with at least one execution
for the task type, the load decides alone: ``total = load_score`` with ``success_rate = 1``,
i.e. ``1 / (1 + load)``. When some candidates have data and others do not, the ones
without data get the neutral prior ``success_rate = expertise = 0.5`` and ``confidence = 0``,
so a newcomer is neither favoured nor starved against a known agent.
Ties go to the lower load, then to the smaller agent id (deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

W_LOAD = 0.3
W_EXPERTISE = 0.5
W_CONFIDENCE = 0.2
PRIOR_SUCCESS_RATE = 0.5
PRIOR_EXPERTISE = 0.5


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the knowledge graph knows about one agent and one task type."""

    success_rate: float
    expertise: float
    confidence: float
    executions: int


@dataclass(frozen=True, slots=True)
class Score:
    success_rate: float
    load: int
    load_score: float
    expertise: float
    confidence: float
    total: float
    learning_data: bool


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: str
    load: int
    evidence: Evidence | None


def load_score(success_rate: float, load: int) -> float:
    return success_rate / (1 + max(0, load))


def total(load_score_: float, expertise: float, confidence: float) -> float:
    return W_LOAD * load_score_ + W_EXPERTISE * expertise + W_CONFIDENCE * confidence


def has_data(evidence: Evidence | None) -> bool:
    return evidence is not None and evidence.executions > 0


def score(load: int, evidence: Evidence | None, *, learning: bool) -> Score:
    """The score of one candidate; ``learning`` is False when no candidate has data."""
    if not learning:
        ls = load_score(1.0, load)
        return Score(1.0, load, ls, 0.0, 0.0, ls, False)
    if evidence is None or evidence.executions <= 0:
        ls = load_score(PRIOR_SUCCESS_RATE, load)
        return Score(PRIOR_SUCCESS_RATE, load, ls, PRIOR_EXPERTISE, 0.0, total(ls, PRIOR_EXPERTISE, 0.0), False)
    ls = load_score(evidence.success_rate, load)
    return Score(
        evidence.success_rate,
        load,
        ls,
        evidence.expertise,
        evidence.confidence,
        total(ls, evidence.expertise, evidence.confidence),
        True,
    )


def rank(candidates: Sequence[Candidate]) -> list[tuple[Candidate, Score]]:
    """Every candidate with its score, best first."""
    learning = any(has_data(c.evidence) for c in candidates)
    scored = [(c, score(c.load, c.evidence, learning=learning)) for c in candidates]
    scored.sort(key=lambda cs: (-cs[1].total, cs[0].load, cs[0].agent_id))
    return scored
