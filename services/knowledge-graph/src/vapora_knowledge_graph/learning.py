"""The learning math of the seed, maintained incrementally.

Recency weight of an execution ``age_days`` old: ``w = 3 * exp(-age_days / 7)``.
Expertise is the recency-weighted success rate ``sum(w_i * s_i) / sum(w_i)``;
confidence is ``min(1, n / 20)``.

Incremental form: with an anchor time ``t0`` and ``tau = 7 days``,
``w_i(t) = 3 * exp(-(t - t0) / tau) * exp((t_i - t0) / tau)``, so keeping
``A = sum(exp((t_i - t0) / tau) * s_i)`` and ``B = sum(exp((t_i - t0) / tau))`` gives
``S(t) = 3 * exp(-(t - t0) / tau) * A``, ``W(t) = 3 * exp(-(t - t0) / tau) * B`` and the
expertise ``A / B`` at any time without rescanning history. When an exponent grows past
:data:`REANCHOR_EXPONENT` the anchor moves forward and both sums are scaled down.

A profile also keeps *recent* evidence, the same sums with ``tau = 2.5 days``
(:data:`RECENT_TAU_DAYS`): ``successes = Σ e^(−age/2.5d) · s_i`` and ``failures = Σ e^(−age/2.5d) ·
(1 − s_i)``, what the coordinator's thompson policy draws from. The seed's ``w`` and expertise are
untouched by it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WEIGHT_SCALE = 3.0
TAU_DAYS = 7.0
DAY_S = 86_400.0
TAU_S = TAU_DAYS * DAY_S
RECENT_TAU_DAYS = 2.5
RECENT_TAU_S = RECENT_TAU_DAYS * DAY_S
CONFIDENCE_EXECUTIONS = 20
REANCHOR_EXPONENT = 30.0


def recency_weight(age_days: float) -> float:
    """``3 * exp(-age_days / 7)``: the weight of an execution ``age_days`` old."""
    return WEIGHT_SCALE * math.exp(-age_days / TAU_DAYS)


def confidence(executions: int) -> float:
    """``min(1, n / 20)``."""
    return min(1.0, max(0, executions) / CONFIDENCE_EXECUTIONS)


@dataclass(slots=True)
class DecayedSums:
    """``A`` and ``B`` of the module docstring, anchored at ``anchor_s`` (epoch seconds), decaying
    with ``tau_s`` (the seed's 7 days unless told)."""

    anchor_s: float
    weighted_success: float = 0.0
    weight: float = 0.0
    tau_s: float = TAU_S

    def _exponent(self, t_s: float) -> float:
        return (t_s - self.anchor_s) / self.tau_s

    def reanchor(self, new_anchor_s: float) -> None:
        scale = math.exp((self.anchor_s - new_anchor_s) / self.tau_s)
        self.weighted_success *= scale
        self.weight *= scale
        self.anchor_s = new_anchor_s

    def add(self, t_s: float, success: float) -> None:
        if self._exponent(t_s) > REANCHOR_EXPONENT:
            self.reanchor(t_s)
        f = math.exp(self._exponent(t_s))
        self.weighted_success += f * success
        self.weight += f

    def correct(self, t_s: float, old_success: float, new_success: float) -> None:
        """Change the outcome of an execution already counted at ``t_s``."""
        self.weighted_success += math.exp(self._exponent(t_s)) * (new_success - old_success)

    def expertise(self) -> float | None:
        """``A / B``; None when nothing carries weight."""
        if self.weight <= 0.0:
            return None
        return min(1.0, max(0.0, self.weighted_success / self.weight))

    def weighted_count(self, now_s: float) -> float:
        """``W(now) = sum(w_i)``: how much recent evidence there is."""
        return WEIGHT_SCALE * math.exp(-(now_s - self.anchor_s) / self.tau_s) * self.weight

    def counts(self, now_s: float) -> tuple[float, float]:
        """(successes, failures) each weighted by ``e^(−age / tau)`` at ``now_s`` (no factor 3)."""
        decay = math.exp(-(now_s - self.anchor_s) / self.tau_s)
        return decay * self.weighted_success, decay * max(0.0, self.weight - self.weighted_success)


def recent_sums(anchor_s: float = 0.0) -> DecayedSums:
    """Empty recent evidence (:data:`RECENT_TAU_DAYS`)."""
    return DecayedSums(anchor_s=anchor_s, tau_s=RECENT_TAU_S)


@dataclass(slots=True)
class ProfileState:
    """Running aggregates of one (agent, task type): fleet-wide, or of one workspace's executions."""

    agent_id: str
    task_type: str
    sums: DecayedSums
    recent: DecayedSums = field(default_factory=recent_sums)
    executions: int = 0
    successes: int = 0
    quality_sum: float = 0.0
    latency_sum_ms: float = 0.0
    cost_sum_cents: float = 0.0
    updated_at_s: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)
    workspace_id: str = ""  # "" for the fleet-wide profile; else one workspace's executions only

    def add(self, *, t_s: float, success: bool, quality: float, latency_ms: float, cost_cents: float) -> None:
        self.sums.add(t_s, 1.0 if success else 0.0)
        self.recent.add(t_s, 1.0 if success else 0.0)
        self.executions += 1
        self.successes += 1 if success else 0
        self.quality_sum += quality
        self.latency_sum_ms += latency_ms
        self.cost_sum_cents += cost_cents

    def correct(
        self, *, t_s: float, old_success: bool, new_success: bool, old_quality: float, new_quality: float
    ) -> None:
        self.sums.correct(t_s, 1.0 if old_success else 0.0, 1.0 if new_success else 0.0)
        self.recent.correct(t_s, 1.0 if old_success else 0.0, 1.0 if new_success else 0.0)
        self.successes += int(new_success) - int(old_success)
        self.quality_sum += new_quality - old_quality

    @property
    def success_rate(self) -> float:
        return self.successes / self.executions if self.executions else 0.0

    @property
    def expertise(self) -> float:
        value = self.sums.expertise()
        return self.success_rate if value is None else value

    @property
    def confidence(self) -> float:
        return confidence(self.executions)

    def mean(self, total: float) -> float:
        return total / self.executions if self.executions else 0.0
