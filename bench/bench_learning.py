"""Learning-quality simulator: does the coordinator's choice of agent learn who is good at what?

N simulated agents each have a hidden success probability per task type that drifts (a small
daily random walk, plus a regime change on day 20: every agent's best type becomes one of its
worst and vice versa). A stream of tasks arrives over 40 simulated days; each task occupies
its agent for a while (so load matters) and succeeds with the agent's hidden probability.

Outcomes are verified-style: a task succeeds or fails, as a test command decides (binary, no
partial quality), and every outcome is evidence (counted in the profile), as the product now
records them — an unverified outcome is never counted, so it does not appear here.

Every policy runs on the same world (the same tasks, durations, drift and random outcome
draws) and uses the REAL code: candidates are scored with ``vapora_swarm_coordinator.scoring``
(the seed) or ranked with ``vapora_swarm_coordinator.thompson`` (the coordinator's
``VAPORA_ASSIGNMENT_POLICY=thompson``), and learning profiles are kept with
``vapora_knowledge_graph.learning`` (the knowledge graph's incremental recency-weighted sums,
and its recent evidence), updated when each execution finishes.

Policies:
- ``load only``  — ``scoring.rank`` with no learning data: ``1 / (1 + load)``.
- ``seed``       — ``scoring.rank`` with the profiles: ``0.3·load_score + 0.5·expertise + 0.2·confidence``.
- ``thompson``   — ``thompson.rank``: ``θ ~ Beta(1 + k·m + s, 1 + k·(1−m) + f)``, never below its
  mean, the largest draw wins; ``s``/``f`` are the profile's recent successes/failures
  (``Σ e^(−age/2.5d)``) moved by the trend against the seed's expertise, ``m`` mixes the seed
  formula on that evidence and the seed's expertise (thompson.py states the parameters).
  Old evidence fades within days, so a regime change is noticed and an agent nobody has tried
  lately is tried again — the seed's expertise of such an agent never changes.
- ``oracle``     — knows the hidden probabilities (the reference of the regret).

Regret is expected regret: for each task, the best hidden probability among the agents that
had room at that moment minus the chosen agent's hidden probability (summed over every task).
Success is counted after the first ``--warm-up`` tasks (500): how well a policy does once it
has had a chance to learn. The table is of one world (``--seed``, 7). The targets — thompson's
regret at most 50% of the seed formula's, and its success within 5% of the oracle's — are judged
on every world of ``--target-seeds`` (1 to 8): each world's two ratios are printed, then their mean
and their worst, and the worst is what must meet the target (a target met by the luck of one
world is not met).

    uv run python bench/bench_learning.py [--seed 7] [--target-seeds 8] [--agents 10] [--days 40]
        [--per-day 400] [--warm-up 500]
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from figures import Figures, at_most

from vapora_knowledge_graph.learning import DAY_S, DecayedSums, ProfileState
from vapora_swarm_coordinator import scoring, thompson

TYPES = ("coding", "testing", "review", "documentation", "security")
MAX_CONCURRENCY = 4
MEAN_DURATION_S = 3600.0
DRIFT_PER_DAY = 0.03
REGIME_DAY = 20.0
REGRET_SHARE_TARGET = 0.5  # thompson's regret at most half the seed formula's
SUCCESS_GAP_TARGET = 0.05  # thompson's success at most 5% below the oracle's


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


def thompson_policy(rng: random.Random) -> Policy:
    def choose(state: State, room: Sequence[str], task_type: str, now: float, world: World) -> str:
        cands = [scoring.Candidate(a, state.load[a], state.evidence(a, task_type)) for a in room]
        recent = {a: p.recent.counts(now) for a in room if (p := state.profiles.get((a, task_type))) is not None}
        return thompson.rank(rng, cands, recent)[0][0].agent_id

    return choose


def oracle(state: State, room: Sequence[str], task_type: str, now: float, world: World) -> str:
    return max(room, key=lambda a: (world.p(a, task_type, now), -state.load[a]))


@dataclass(slots=True)
class Outcome:
    successes: int = 0  # after the warm-up
    counted: int = 0
    regret: float = 0.0
    regret_after_change: float = 0.0
    successes_after_change: int = 0
    tasks_after_change: int = 0
    waited: int = 0


def run(world: World, policy: Policy, warm_up: int = 500) -> Outcome:
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
        if i >= warm_up:
            out.successes += ok
            out.counted += 1
        out.regret += regret
        if now >= REGIME_DAY * DAY_S:
            out.regret_after_change += regret
            out.successes_after_change += ok
            out.tasks_after_change += 1
        state.load[chosen] += 1
        heapq.heappush(running, (now + task.duration_s, i, chosen, task.task_type, ok))
    return out


@dataclass(frozen=True, slots=True)
class Targets:
    """Thompson against its targets on one world."""

    regret_share: float  # thompson's regret / the seed formula's
    gap: float  # 1 − thompson's success / the oracle's


def targets(results: dict[str, Outcome]) -> Targets:
    ts, seed, best = results["thompson"], results["seed formula"], results["oracle"]
    return Targets(ts.regret / seed.regret, 1 - (ts.successes / ts.counted) / (best.successes / best.counted))


def policies(seed: int) -> list[tuple[str, Policy]]:
    return [
        ("load only", load_only),
        ("seed formula", seed_formula),
        ("thompson", thompson_policy(random.Random(seed + 1))),
        ("oracle", oracle),
    ]


def met(value: float, bound: float) -> str:
    return "met" if value <= bound else "NOT met"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=7, help="the world of the table")
    ap.add_argument("--target-seeds", type=int, default=8, help="the targets are judged on worlds 1..N")
    ap.add_argument("--agents", type=int, default=10)
    ap.add_argument("--days", type=int, default=40)
    ap.add_argument("--per-day", type=int, default=400)
    ap.add_argument("--warm-up", type=int, default=500, help="tasks before success is counted")
    args = ap.parse_args()
    started = time.perf_counter()
    world = make_world(args.seed, args.agents, args.days, args.per_day)
    n = len(world.tasks)
    print(
        f"learning simulator: {args.agents} agents, {len(TYPES)} task types, {n} tasks over {args.days} days, "
        f"max {MAX_CONCURRENCY} jobs per agent, mean job {MEAN_DURATION_S / 3600:.0f} h, "
        f"daily drift σ={DRIFT_PER_DAY}, regime change on day {REGIME_DAY:.0f}, seed {args.seed}; "
        f"verified outcomes (pass/fail), success counted after the first {args.warm_up} tasks"
    )
    header = f"{'policy':<24}{'success':>9}{'regret':>10}{'regret/1k':>11}{'success≥d20':>13}{'regret≥d20':>12}"
    print(header)
    print("-" * len(header))
    results: dict[str, Outcome] = {}
    figures = Figures("bench_learning")
    for name, policy in policies(args.seed):
        o = results[name] = run(world, policy, args.warm_up)
        after = o.successes_after_change / o.tasks_after_change if o.tasks_after_change else math.nan
        print(
            f"{name:<24}{o.successes / o.counted:>9.3f}{o.regret:>10.1f}{1000 * o.regret / n:>11.1f}"
            f"{after:>13.3f}{o.regret_after_change:>12.1f}"
        )
        figures.add(f"{name}: success rate after the first {args.warm_up} tasks", o.successes / o.counted, "")
        figures.add(f"{name}: cumulative regret", o.regret, "tasks")
        figures.add(f"{name}: success rate after day {REGIME_DAY:.0f}", after, "")
        figures.add(f"{name}: regret after day {REGIME_DAY:.0f}", o.regret_after_change, "tasks")
    per_world: list[Targets] = []
    for seed in range(1, args.target_seeds + 1):
        if seed == args.seed:
            t = targets(results)
        else:
            other = make_world(seed, args.agents, args.days, args.per_day)
            t = targets({name: run(other, p, args.warm_up) for name, p in policies(seed) if name != "load only"})
        per_world.append(t)
        print(
            f"world {seed}: thompson's regret {100 * t.regret_share:.0f}% of the seed formula's, "
            f"success {100 * t.gap:.1f}% below the oracle's"
        )
    seeds = f"worlds 1-{args.target_seeds}"
    shares, gaps = [t.regret_share for t in per_world], [t.gap for t in per_world]
    figures.add(f"thompson's regret / the seed formula's, mean over {seeds}", sum(shares) / len(shares), "")
    figures.add(
        f"thompson's regret / the seed formula's, worst of {seeds}", max(shares), "", at_most(REGRET_SHARE_TARGET)
    )
    figures.add(f"thompson's success below the oracle's (relative), mean over {seeds}", sum(gaps) / len(gaps), "")
    figures.add(
        f"thompson's success below the oracle's (relative), worst of {seeds}",
        max(gaps),
        "",
        at_most(SUCCESS_GAP_TARGET),
    )
    print(
        f"targets over {seeds} (success after the first {args.warm_up} tasks): thompson's regret is "
        f"{100 * sum(shares) / len(shares):.0f}% of the seed formula's on average, {100 * max(shares):.0f}% at worst "
        f"(at most {100 * REGRET_SHARE_TARGET:.0f}%: {met(max(shares), REGRET_SHARE_TARGET)}); its success is "
        f"{100 * sum(gaps) / len(gaps):.1f}% below the oracle's on average, {100 * max(gaps):.1f}% at worst "
        f"(within {100 * SUCCESS_GAP_TARGET:.0f}%: {met(max(gaps), SUCCESS_GAP_TARGET)})"
    )
    print(f"(regret: expected, vs the best hidden skill among agents with room; {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
