"""Learning-quality simulator: does the coordinator's choice of agent learn who is good at what?

N simulated agents each have a hidden success probability per task type that drifts (a small
daily random walk, plus a regime change on day 20: every agent's best type becomes one of its
worst and vice versa). A stream of tasks arrives over 40 simulated days; each task occupies
its agent for a while (so load matters) and succeeds with the agent's hidden probability.

Every policy runs on the same world (the same tasks, durations, drift and random outcome
draws) and uses the REAL code: candidates are scored with ``vapora_swarm_coordinator.scoring``
and learning profiles are kept with ``vapora_knowledge_graph.learning`` (the knowledge
graph's incremental recency-weighted sums), updated when each execution finishes.

Policies:
- ``load only``  — ``scoring.rank`` with no learning data: ``1 / (1 + load)``.
- ``seed``       — ``scoring.rank`` with the profiles: ``0.3·load_score + 0.5·expertise + 0.2·confidence``.
- ``thompson``   — Thompson sampling with the seed's score as the prior mean: for each candidate
  ``θ ~ Beta(1 + k·m + s, 1 + k·(1−m) + f)`` where ``m`` is the seed total, ``k = 2`` pseudo
  executions, and ``s``/``f`` are the recency-weighted successes/failures (``Σ e^(−age/7d)``,
  i.e. the profile's weights ÷ 3); the largest draw wins. Old evidence decays, so an agent
  nobody has tried lately is tried again — the seed's expertise of such an agent never changes.
- ``oracle``     — knows the hidden probabilities (the reference of the regret).

Regret is expected regret: for each task, the best hidden probability among the agents that
had room at that moment minus the chosen agent's hidden probability (summed).

    uv run python bench/bench_learning.py [--seed 7] [--agents 10] [--days 40] [--per-day 400]
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from figures import Figures

from vapora_knowledge_graph.learning import DAY_S, DecayedSums, ProfileState
from vapora_swarm_coordinator import scoring

TYPES = ("coding", "testing", "review", "documentation", "security")
MAX_CONCURRENCY = 4
MEAN_DURATION_S = 3600.0
DRIFT_PER_DAY = 0.03
REGIME_DAY = 20.0
PRIOR_STRENGTH = 2.0


@dataclass(frozen=True, slots=True)
class TaskDraw:
    at_s: float
    task_type: str
    duration_s: float
    u: float  # success iff u < p(agent, type): common random numbers across policies


@dataclass(slots=True)
class World:
    agents: list[str]
    tasks: list[TaskDraw]
    skill_by_day: list[dict[tuple[str, str], float]]  # hidden p per (agent, type), per day

    def p(self, agent: str, task_type: str, t_s: float) -> float:
        day = min(int(t_s // DAY_S), len(self.skill_by_day) - 1)
        return self.skill_by_day[day][(agent, task_type)]


def make_world(seed: int, n_agents: int, days: int, per_day: int) -> World:
    rng = random.Random(seed)
    agents = [f"agent-{i:02d}" for i in range(n_agents)]
    skill = {(a, t): rng.uniform(0.15, 0.75) for a in agents for t in TYPES}
    for i, a in enumerate(agents):  # each agent has a specialty it is very good at
        skill[(a, TYPES[i % len(TYPES)])] = rng.uniform(0.85, 0.95)
    by_day = []
    for day in range(days):
        if day == int(REGIME_DAY):  # regime change: best and worst type swap for every agent
            for a in agents:
                ranked = sorted(TYPES, key=lambda t: skill[(a, t)])  # sorted at once: no late binding
                lo, hi = ranked[0], ranked[-1]
                skill[(a, lo)], skill[(a, hi)] = skill[(a, hi)], skill[(a, lo)]
        by_day.append(dict(skill))
        for k, v in skill.items():
            skill[k] = min(0.97, max(0.03, v + rng.gauss(0.0, DRIFT_PER_DAY)))
    tasks = sorted(
        (
            TaskDraw(
                at_s=rng.uniform(0, days * DAY_S),
                task_type=rng.choice(TYPES),
                duration_s=rng.expovariate(1 / MEAN_DURATION_S),
                u=rng.random(),
            )
            for _ in range(days * per_day)
        ),
        key=lambda d: d.at_s,
    )
    return World(agents, tasks, by_day)


@dataclass(slots=True)
class State:
    """What a coordinator knows: loads and the knowledge graph's profiles."""

    load: dict[str, int]
    profiles: dict[tuple[str, str], ProfileState] = field(default_factory=dict)

    def evidence(self, agent: str, task_type: str) -> scoring.Evidence | None:
        p = self.profiles.get((agent, task_type))
        if p is None or p.executions == 0:
            return None
        return scoring.Evidence(p.success_rate, p.expertise, p.confidence, p.executions)

    def record(self, agent: str, task_type: str, t_s: float, success: bool) -> None:
        p = self.profiles.get((agent, task_type))
        if p is None:
            p = self.profiles[(agent, task_type)] = ProfileState(agent, task_type, DecayedSums(anchor_s=t_s))
        p.add(t_s=t_s, success=success, quality=1.0 if success else 0.0, latency_ms=0.0, cost_cents=0.0)


Policy = Callable[[State, Sequence[str], str, float, World], str]


def load_only(state: State, room: Sequence[str], task_type: str, now: float, world: World) -> str:
    return scoring.rank([scoring.Candidate(a, state.load[a], None) for a in room])[0][0].agent_id


def seed_formula(state: State, room: Sequence[str], task_type: str, now: float, world: World) -> str:
    cands = [scoring.Candidate(a, state.load[a], state.evidence(a, task_type)) for a in room]
    return scoring.rank(cands)[0][0].agent_id


def thompson(rng: random.Random) -> Policy:
    def choose(state: State, room: Sequence[str], task_type: str, now: float, world: World) -> str:
        cands = [scoring.Candidate(a, state.load[a], state.evidence(a, task_type)) for a in room]
        best, best_draw = "", -1.0
        for cand, sc in scoring.rank(cands):
            prof = state.profiles.get((cand.agent_id, task_type))
            n = prof.sums.weighted_count(now) / 3.0 if prof is not None else 0.0
            s = (prof.expertise * n) if prof is not None else 0.0
            m = min(0.99, max(0.01, sc.total))
            draw = rng.betavariate(1 + PRIOR_STRENGTH * m + s, 1 + PRIOR_STRENGTH * (1 - m) + (n - s))
            if draw > best_draw:
                best, best_draw = cand.agent_id, draw
        return best

    return choose


def oracle(state: State, room: Sequence[str], task_type: str, now: float, world: World) -> str:
    return max(room, key=lambda a: (world.p(a, task_type, now), -state.load[a]))


@dataclass(slots=True)
class Outcome:
    successes: int = 0
    regret: float = 0.0
    regret_after_change: float = 0.0
    successes_after_change: int = 0
    tasks_after_change: int = 0
    waited: int = 0


def run(world: World, policy: Policy) -> Outcome:
    state = State(load=dict.fromkeys(world.agents, 0))
    running: list[tuple[float, int, str, str, bool]] = []  # (finish, seq, agent, type, success)
    out = Outcome()

    def finish_until(t: float) -> None:
        while running and running[0][0] <= t:
            fin, _, agent, task_type, ok = heapq.heappop(running)
            state.load[agent] -= 1
            state.record(agent, task_type, fin, ok)

    for i, task in enumerate(world.tasks):
        now = task.at_s
        finish_until(now)
        room = [a for a in world.agents if state.load[a] < MAX_CONCURRENCY]
        while not room:  # everyone is full: the task waits for the next finish
            out.waited += 1
            now = running[0][0]
            finish_until(now)
            room = [a for a in world.agents if state.load[a] < MAX_CONCURRENCY]
        chosen = policy(state, room, task.task_type, now, world)
        p = world.p(chosen, task.task_type, now)
        regret = max(world.p(a, task.task_type, now) for a in room) - p
        ok = task.u < p
        out.successes += ok
        out.regret += regret
        if now >= REGIME_DAY * DAY_S:
            out.regret_after_change += regret
            out.successes_after_change += ok
            out.tasks_after_change += 1
        state.load[chosen] += 1
        heapq.heappush(running, (now + task.duration_s, i, chosen, task.task_type, ok))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--days", type=int, default=40)
    ap.add_argument("--per-day", type=int, default=400)
    args = ap.parse_args()
    started = time.perf_counter()
    world = make_world(args.seed, args.agents, args.days, args.per_day)
    policies: list[tuple[str, Policy]] = [
        ("load only", load_only),
        ("seed formula", seed_formula),
        ("thompson (seed prior)", thompson(random.Random(args.seed + 1))),
        ("oracle", oracle),
    ]
    n = len(world.tasks)
    print(
        f"learning simulator: {args.agents} agents, {len(TYPES)} task types, {n} tasks over {args.days} days, "
        f"max {MAX_CONCURRENCY} jobs per agent, mean job {MEAN_DURATION_S / 3600:.0f} h, "
        f"daily drift σ={DRIFT_PER_DAY}, regime change on day {REGIME_DAY:.0f}, seed {args.seed}"
    )
    header = f"{'policy':<24}{'success':>9}{'regret':>10}{'regret/1k':>11}{'success≥d20':>13}{'regret≥d20':>12}"
    print(header)
    print("-" * len(header))
    figures = Figures("bench_learning")
    for name, policy in policies:
        o = run(world, policy)
        after = o.successes_after_change / o.tasks_after_change if o.tasks_after_change else math.nan
        print(
            f"{name:<24}{o.successes / n:>9.3f}{o.regret:>10.1f}{1000 * o.regret / n:>11.1f}"
            f"{after:>13.3f}{o.regret_after_change:>12.1f}"
        )
        figures.add(f"{name}: success rate", o.successes / n, "")
        figures.add(f"{name}: cumulative regret", o.regret, "tasks")
        figures.add(f"{name}: success rate after day {REGIME_DAY:.0f}", after, "")
        figures.add(f"{name}: regret after day {REGIME_DAY:.0f}", o.regret_after_change, "tasks")
    print(f"(regret: expected, vs the best hidden skill among agents with room; {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
