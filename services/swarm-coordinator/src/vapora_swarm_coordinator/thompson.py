"""The thompson assignment policy (``VAPORA_ASSIGNMENT_POLICY=thompson``); the seed's stays in
``scoring.py`` and is the default.

Each candidate with room gets a draw ``θ ~ Beta(α, β)`` and the largest draw wins:

- ``α = 1 + k·m + s``, ``β = 1 + k·(1 − m) + f``, with ``k = 2`` pseudo executions;
- ``s``, ``f``: the agent's *recent* successes and failures at this task type, each weighted by
  ``e^(−age / 2.5 days)`` (the knowledge graph's ``LearningProfile.recent_*``, decayed further to
  now): old evidence fades, so an agent whose skill changed is noticed within days;
- ``m``: the prior mean, the seed's formula applied to that recent evidence
  (``0.3·load_score + 0.5·e + 0.2·min(1, n/20)`` with ``e = s/n``, ``n = s + f``), or the seed's
  own total when there is none, clamped to [0.01, 0.99];
- the draw is never below the posterior mean ``α / (α + β)``: exploration takes the chance of
  an agent being better than it looks, never the risk of one looking worse than its evidence.

``bench/bench_learning.py`` drives :func:`rank` against the seed formula and an oracle. Each
candidate's :class:`~vapora_swarm_coordinator.scoring.Score` keeps the seed's breakdown and adds
the draw and the Beta parameters, so ExplainAssignment can state them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from vapora_swarm_coordinator import scoring
from vapora_swarm_coordinator.scoring import Candidate, Score

PRIOR_STRENGTH = 2.0
CONFIDENCE_EXECUTIONS = 20  # the seed's confidence: min(1, n / 20)
RECENT_TAU_S = 2.5 * 86_400.0  # the knowledge graph's learning.RECENT_TAU_S


@dataclass(frozen=True, slots=True)
class Recent:
    """Recent evidence of one (agent, task type) as the knowledge graph last told it."""

    successes: float
    failures: float
    at_s: float  # when those counts held (the profile's updated_at)

    def at(self, now_s: float) -> tuple[float, float]:
        """(successes, failures) decayed to ``now_s``."""
        decay = math.exp(-max(0.0, now_s - self.at_s) / RECENT_TAU_S)
        return self.successes * decay, self.failures * decay


def prior_mean(candidate: Candidate, seed: Score, s: float, f: float) -> float:
    n = s + f
    if n <= 0:
        m = seed.total
    else:
        e = s / n
        m = scoring.total(scoring.load_score(e, candidate.load), e, min(1.0, n / CONFIDENCE_EXECUTIONS))
    return min(0.99, max(0.01, m))


def sample(rng: random.Random, candidate: Candidate, seed: Score, recent: tuple[float, float]) -> Score:
    """``seed`` with the candidate's draw and Beta parameters."""
    s, f = recent
    m = prior_mean(candidate, seed, s, f)
    alpha = 1.0 + PRIOR_STRENGTH * m + s
    beta = 1.0 + PRIOR_STRENGTH * (1.0 - m) + f
    draw = max(rng.betavariate(alpha, beta), alpha / (alpha + beta))
    return seed._replace(draw=draw, alpha=alpha, beta=beta)


def rank(
    rng: random.Random, candidates: Sequence[Candidate], recent: Mapping[str, tuple[float, float]]
) -> list[tuple[Candidate, Score]]:
    """Every candidate with its score and draw, the largest draw first (ties: lower load, then id).
    ``recent``: agent id → (successes, failures) now."""
    drawn = [
        (candidate, sample(rng, candidate, seed, recent.get(candidate.agent_id, (0.0, 0.0))))
        for candidate, seed in scoring.rank(candidates)
    ]
    drawn.sort(key=lambda cs: (-cs[1].draw, cs[0].load, cs[0].agent_id))
    return drawn


class Sampler:
    """The policy as the coordinator's view calls it: ``sampler(candidates, task_type, recent)``."""

    def __init__(self, *, clock: Callable[[], float], rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng or random.Random()  # exploration, not secrecy

    def __call__(
        self, candidates: Sequence[Candidate], task_type: str, recent: Mapping[tuple[str, str], Recent]
    ) -> list[tuple[Candidate, Score]]:
        now = self._clock()
        counts = {c.agent_id: found.at(now) for c in candidates if (found := recent.get((c.agent_id, task_type)))}
        return rank(self._rng, candidates, counts)
