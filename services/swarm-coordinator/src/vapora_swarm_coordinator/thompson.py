"""The thompson assignment policy (``VAPORA_ASSIGNMENT_POLICY=thompson``); the seed's stays in
``scoring.py`` and is the default.

Each candidate with room gets a draw from ``Beta(α, β)`` and the largest draw wins:

- ``s``, ``f``: the agent's *recent* successes and failures at this task type, each weighted by
  ``e^(−age / 2.5 days)`` (the knowledge graph's ``LearningProfile.recent_*``, decayed further to
  now): old evidence fades, so an agent whose skill changed is noticed within days;
- the trend: with seed evidence, the recent rate ``e = s/n`` (``n = s + f``) is moved by
  ``TREND · (e − expertise)`` (``TREND = 2``, clamped to [0, 1]) and ``s, f`` become ``e'·n,
  (1 − e')·n``: the seed's expertise is a slower memory (7 days), so a recent rate below it means
  the skill is falling, and the extrapolation notices a change sooner than either memory alone;
- the prior: ``k_r = 1`` pseudo execution at ``m_r``, the seed's formula on that evidence
  (``0.3·e'/(1 + load) + 0.5·e' + 0.2·min(1, n/20)``, or the seed's own total when there is
  none), plus ``k_l = 4·confidence`` pseudo executions at the seed's ``expertise`` (none without
  seed evidence); ``m = (k_r·m_r + k_l·m_l)/(k_r + k_l)``, ``k = k_r + k_l``, each mean clamped
  to [0.01, 0.99]. The long memory keeps an agent known to be poor at a type from being
  re-explored as soon as its recent evidence has faded;
- ``α = 1 + k·m + s``, ``β = 1 + k·(1 − m) + f``; ``θ ~ Beta(α, β)``, and the draw is
  ``μ + 0.8·(max(θ, μ) − μ)`` with ``μ = α/(α + β)``: never below the posterior mean
  (exploration takes the chance of an agent being better than it looks, never the risk of one
  looking worse than its evidence), and a little less eager than a plain draw.

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

PRIOR_STRENGTH = 1.0  # k_r: pseudo executions at the seed formula on recent evidence
LONG_STRENGTH = 4.0  # k_l = 4 · confidence: pseudo executions at the seed's expertise
TREND = 2.0  # e' = e + 2 · (e − expertise)
EXPLORATION = 0.8  # the share of a draw's excess over the posterior mean that counts
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


def clamp(m: float) -> float:
    return min(0.99, max(0.01, m))


def trended(candidate: Candidate, s: float, f: float) -> tuple[float, float]:
    """(s, f) with the recent rate moved by ``TREND · (rate − expertise)``, as many executions."""
    n, evidence = s + f, candidate.evidence
    if n <= 0 or evidence is None or not scoring.has_data(evidence):
        return s, f
    e = s / n
    e = min(1.0, max(0.0, e + TREND * (e - evidence.expertise)))
    return e * n, (1.0 - e) * n


def prior_mean(candidate: Candidate, seed: Score, s: float, f: float) -> float:
    """``m_r``: the seed's formula on the (trended) recent evidence, or the seed's total without any."""
    n = s + f
    if n <= 0:
        return clamp(seed.total)
    e = s / n
    return clamp(scoring.total(scoring.load_score(e, candidate.load), e, min(1.0, n / CONFIDENCE_EXECUTIONS)))


def prior(candidate: Candidate, seed: Score, s: float, f: float) -> tuple[float, float]:
    """(m, k): the recent prior's ``k_r`` pseudo executions and the seed expertise's ``k_l``."""
    m, k = prior_mean(candidate, seed, s, f), PRIOR_STRENGTH
    evidence = candidate.evidence
    if evidence is not None and scoring.has_data(evidence):
        k_long = LONG_STRENGTH * evidence.confidence
        m, k = (k * m + k_long * clamp(evidence.expertise)) / (k + k_long), k + k_long
    return m, k


def sample(rng: random.Random, candidate: Candidate, seed: Score, recent: tuple[float, float]) -> Score:
    """``seed`` with the candidate's draw and Beta parameters."""
    s, f = trended(candidate, *recent)
    m, k = prior(candidate, seed, s, f)
    alpha = 1.0 + k * m + s
    beta = 1.0 + k * (1.0 - m) + f
    mean = alpha / (alpha + beta)
    draw = mean + EXPLORATION * (max(rng.betavariate(alpha, beta), mean) - mean)
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
