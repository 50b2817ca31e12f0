"""The thompson policy: its Beta parameters by hand, draws never below the posterior mean, recent
evidence decayed to the time of assignment, and a coordinator that assigns and explains with it."""

from __future__ import annotations

import math
import random
import time
from typing import Any

import pytest
from coordinator_testkit import known_agents, running, task  # type: ignore[import-not-found]
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.kg.v1 import kg_pb2
from vapora_swarm_coordinator import scoring, thompson
from vapora_swarm_coordinator.grpc_server import assignment
from vapora_swarm_coordinator.scoring import Candidate, Evidence
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings

DAY = 86_400.0


def test_the_beta_parameters_come_from_trended_recent_evidence_and_both_priors() -> None:
    known = Candidate("a", 0, Evidence(success_rate=0.5, expertise=0.7, confidence=0.5, executions=10))
    fresh = Candidate("b", 1, None, proficiency=0.8)
    ranked = thompson.rank(random.Random(3), [known, fresh], {"a": (6.0, 2.0)})
    by_agent = {c.agent_id: s for c, s in ranked}
    # a: recent e = 6/8 = 0.75, n = 8; trend: e' = 0.75 + 2*(0.75 - 0.7) = 0.85, so s = 6.8, f = 1.2
    # m_r = 0.3*0.85/(1+0) + 0.5*0.85 + 0.2*(8/20) = 0.76 (1 pseudo execution);
    # m_l = expertise 0.7 with 4*0.5 = 2 pseudo executions: m = (0.76 + 2*0.7)/3 = 0.72, k = 3
    a = by_agent["a"]
    assert (a.alpha, a.beta) == pytest.approx((1 + 3 * 0.72 + 6.8, 1 + 3 * 0.28 + 1.2))
    # b has no evidence: the prior is its seed total (proficiency 0.8, no confidence, load 1), k = 1
    seed_b = dict((c.agent_id, s) for c, s in scoring.rank([known, fresh]))["b"]
    assert seed_b.total == pytest.approx(0.3 * 0.8 / 2 + 0.5 * 0.8)
    b = by_agent["b"]
    assert (b.alpha, b.beta) == pytest.approx((1 + seed_b.total, 1 + (1 - seed_b.total)))
    # the seed's breakdown is kept beside the draw; the largest draw is first
    assert a[:7] == dict((c.agent_id, s) for c, s in scoring.rank([known, fresh]))["a"][:7]
    assert ranked[0][1].draw >= ranked[1][1].draw
    assert a.policy == "thompson" and seed_b.policy == "seed"


def test_the_trend_is_clamped_and_needs_seed_evidence() -> None:
    falling = Candidate("a", 0, Evidence(success_rate=0.9, expertise=0.9, confidence=1.0, executions=40))
    # e = 0.2 against an expertise of 0.9: 0.2 + 2*(0.2 - 0.9) < 0, so every recent execution counts as failed
    assert thompson.trended(falling, 2.0, 8.0) == pytest.approx((0.0, 10.0))
    assert thompson.trended(Candidate("b", 0, None), 2.0, 8.0) == (2.0, 8.0)  # no seed evidence: as they are
    assert thompson.trended(falling, 0.0, 0.0) == (0.0, 0.0)
    # a known-poor agent without recent evidence keeps its seed expertise as prior: m = (m_r + 4*0.2)/5
    poor = Candidate("c", 0, Evidence(success_rate=0.2, expertise=0.2, confidence=1.0, executions=30))
    seed = scoring.rank([poor])[0][1]
    s = thompson.sample(random.Random(1), poor, seed, (0.0, 0.0))
    m = (seed.total + 4 * 0.2) / 5
    assert (s.alpha, s.beta) == pytest.approx((1 + 5 * m, 1 + 5 * (1 - m)))


def test_a_draw_is_never_below_the_posterior_mean_and_still_varies() -> None:
    cand = Candidate("a", 0, Evidence(success_rate=0.7, expertise=0.7, confidence=0.4, executions=8))
    rng = random.Random(11)
    seed = scoring.rank([cand])[0][1]
    draws = [thompson.sample(rng, cand, seed, (3.0, 3.0)).draw for _ in range(500)]
    s = thompson.sample(rng, cand, seed, (3.0, 3.0))
    mean = s.alpha / (s.alpha + s.beta)
    assert min(draws) >= mean - 1e-12
    assert sum(d > mean + 0.05 for d in draws) > 50  # exploration: upward draws happen often
    # 0.8 of a Beta draw's excess over the mean: the same stream of Beta draws, by hand
    theta = random.Random(5).betavariate(s.alpha, s.beta)
    again = thompson.sample(random.Random(5), cand, seed, (3.0, 3.0))
    assert again.draw == pytest.approx(mean + 0.8 * (max(theta, mean) - mean))


def test_recent_evidence_is_decayed_to_the_time_of_assignment() -> None:
    recent = thompson.Recent(successes=6.0, failures=2.0, at_s=1_000_000.0)
    assert recent.at(1_000_000.0) == (6.0, 2.0)
    assert recent.at(1_000_000.0 + 2.5 * DAY) == pytest.approx((6 / math.e, 2 / math.e))
    assert recent.at(0.0) == (6.0, 2.0)  # a clock behind the profile does not inflate it


def learned(coord: Coordinator, counts: dict[str, tuple[int, int]]) -> None:
    """``coord``'s view holds, as of now, each agent's (successes, failures) at testing."""
    now = time.time()
    for agent, (successes, failures) in counts.items():
        coord.view.set_profile(profile(agent, successes, failures, now))


def profile(agent: str, successes: float, failures: float, now: float) -> kg_pb2.LearningProfile:
    n = int(successes + failures)
    return kg_pb2.LearningProfile(
        agent_id=agent,
        task_type="testing",
        expertise=successes / n,
        confidence=min(1.0, n / 20),
        executions=n,
        successes=int(successes),
        success_rate=successes / n,
        recent_successes=successes,
        recent_failures=failures,
        updated_at=Timestamp(seconds=int(now)),
    )


async def test_a_thompson_coordinator_follows_recent_evidence_and_explains_its_draws(
    coordinator_settings: CoordinatorSettings, registry: Any
) -> None:
    counts = {"a-good": (34, 6), "b-bad": (2, 38), "c-new": (1, 0)}  # c-new: one success, little evidence
    async with running(coordinator_settings, assignment_policy="thompson") as app:
        coord = await known_agents(app, registry[0], dict.fromkeys(counts, "testing"), max_concurrency=100)
        learned(coord, counts)
        chosen: dict[str, int] = {"a-good": 0, "b-bad": 0, "c-new": 0}
        # 100 tasks: in 4,000 simulated runs of thompson.rank on these profiles (growing loads),
        # c-new was first 4 to 26 times, b-bad never
        tasks = [task("testing") for _ in range(100)]
        for t in tasks:
            row = await coord.assign(t)
            chosen[str(row["agent_id"])] += 1
        assert chosen["b-bad"] == 0
        assert chosen["a-good"] > chosen["c-new"] > 0, chosen  # the uncertain agent is still tried

        answer = assignment(await coord.explain(tasks[0].id, "ws1"))
        assert answer.policy == "thompson"
        by_agent = {c.agent_id: c.score for c in answer.candidates}
        assert set(by_agent) == {"a-good", "b-bad", "c-new"}
        for agent_score in by_agent.values():
            assert agent_score.alpha >= 1 and agent_score.beta >= 1
            assert agent_score.draw >= agent_score.alpha / (agent_score.alpha + agent_score.beta) - 1e-9
        good = by_agent["a-good"]
        # recent e = 0.85 = expertise (no trend); load 0 at the first task: m_r = 0.3*0.85 + 0.5*0.85 + 0.2
        # (1 pseudo execution) and m_l = 0.85 (4 pseudo executions, confidence 1): alpha = 1 + m_r + 4*0.85 + 34
        assert good.alpha == pytest.approx(1 + (0.3 * 0.85 + 0.5 * 0.85 + 0.2) + 4 * 0.85 + 34, abs=0.05)
        assert answer.score.draw == max(s.draw for s in by_agent.values())


async def test_the_seed_policy_is_the_default_and_explains_no_draw(
    coordinator_settings: CoordinatorSettings, registry: Any
) -> None:
    assert CoordinatorSettings().assignment_policy == "seed"
    counts = {"a-good": (38, 2), "c-fair": (3, 3)}
    async with running(coordinator_settings) as app:
        coord = await known_agents(app, registry[0], dict.fromkeys(counts, "testing"), max_concurrency=100)
        learned(coord, counts)
        t = task("testing")
        assert (await coord.assign(t))["agent_id"] == "a-good"
        answer = assignment(await coord.explain(t.id, "ws1"))
        assert answer.policy == "seed" and (answer.score.draw, answer.score.alpha, answer.score.beta) == (0, 0, 0)
