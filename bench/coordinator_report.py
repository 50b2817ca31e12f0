"""What ``bench_coordinator.py`` prints, from the figures its phases measured."""

from __future__ import annotations

import argparse
import os
import statistics

from coordinator_ceiling import IN_FLIGHT, Ceiling
from coordinator_phases import E2E
from figures import Figures, at_least, at_most

FIGURES = Figures("bench_coordinator")


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def print_results(args: argparse.Namespace, best: Ceiling, rates: str, e2e: E2E) -> None:
    """Every line after the scoring path's: the ceiling, the bursts, the latency, the CPU."""
    ceiling = best.rate
    bound = " (without its store)" if args.without_store else ""
    FIGURES.add("raw JetStream publish + consume (the ceiling)", ceiling, "msg/s")
    FIGURES.add(f"publish → JobAssigned{bound}", e2e.throughput, "tasks/s")
    FIGURES.add(
        f"publish → JobAssigned{bound}, share of the ceiling", 100 * e2e.throughput / ceiling, "%", at_least(25)
    )
    FIGURES.add(f"with every job finished after {args.exec_ms:.0f} ms{bound}", e2e.mixed, "tasks/s")
    FIGURES.add(f"with every job finished{bound}, share of the ceiling", 100 * e2e.mixed / ceiling, "%")
    print(
        f"raw JetStream publish+consume (ceiling): {ceiling:,.0f} msg/s "
        f"(best of 3 runs of {args.ceiling_msgs} msgs: {rates}; {IN_FLIGHT} in flight)"
    )
    lat = e2e.latencies
    if args.without_store:
        print("the coordinator WITHOUT its store (assignment writes in a dict; a bound, not the product):")
    bursts = ", ".join(f"{b:,.0f}" for b in e2e.bursts)
    print(
        f"end to end publish → JobAssigned:        {e2e.throughput:,.0f} tasks/s "
        f"(best of 3 bursts of {args.tasks} tasks: {bursts}; {args.agents} agents holding their jobs)"
        f" = {100 * e2e.throughput / ceiling:.0f}% of the ceiling (target ≥ 25%)"
    )
    if e2e.held_cpu:
        split = ", ".join(f"{name} {seconds * 1e6:,.0f} µs" for name, seconds in e2e.held_cpu.items())
        print(f"  CPU per task of those bursts (assign only): {split}")
        for name, seconds in e2e.held_cpu.items():
            FIGURES.add(f"CPU per task assigned, agents holding their jobs{bound}: {name}", seconds * 1e6, "µs")
    print(
        f"  with every job finished after {args.exec_ms:.0f} ms (executions settled meanwhile): "
        f"{e2e.mixed:,.0f} tasks/s = {100 * e2e.mixed / ceiling:.0f}% of the ceiling"
    )
    print(
        f"latency at {args.rate:.0f} tasks/s offered ({e2e.achieved} achieved, {len(lat)} tasks): "
        f"p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms (target p99 ≤ 50 ms)"
    )
    print(f"mean {statistics.fmean(lat) * 1000:.1f} ms")
    at = f"latency at {args.rate:.0f} tasks/s offered{bound}"
    FIGURES.add(f"{at}, p50", pct(lat, 0.5), "ms")
    FIGURES.add(f"{at}, p99", pct(lat, 0.99), "ms", at_most(50))
    FIGURES.add(f"{at}, max", lat[-1] * 1000, "ms")
    trips = [
        f"{kind} {n:,.0f} round trips of {items / n:.1f} items, {1000 * seconds / n:.1f} ms each"
        for kind, (n, items, seconds) in e2e.trips.items()
        if n
    ]
    if trips and not args.without_store:
        print(f"  store writes in those 3 s (means): {'; '.join(trips)}")
    print(f"  and every execution of that burst settled (DONE stored and published): {e2e.settle_rate:,.0f} tasks/s")
    FIGURES.add(f"executions settled (DONE stored and published){bound}", e2e.settle_rate, "tasks/s")
    if e2e.cpu:
        split = ", ".join(f"{name} {seconds * 1e6:,.0f} µs" for name, seconds in e2e.cpu.items())
        print(f"CPU per task of that burst (assign + finish): {split}; {os.cpu_count()} cores here")
        for name, seconds in e2e.cpu.items():
            FIGURES.add(f"CPU per task assigned and finished{bound}: {name}", seconds * 1e6, "µs")
        if best.cpu:
            print_budget(best, e2e)


def print_budget(ceiling: Ceiling, e2e: E2E) -> None:
    """The CPU a task may cost the machine for 25% of the ceiling, against what it costs, both also
    in ceiling messages (one acknowledged publish plus one pulled and acked delivery)."""
    per_msg = sum(ceiling.cpu.values())
    per_task = sum(e2e.cpu.values())
    target = 0.25 * ceiling.rate
    allowed = (os.cpu_count() or 1) / target  # every core busy with nothing else
    split = ", ".join(f"{name} {seconds * 1e6:,.0f} µs" for name, seconds in ceiling.cpu.items())
    print(f"CPU per message of the ceiling: {split}")
    print(
        f"CPU budget for 25% of the ceiling ({target:,.0f} tasks/s): at most {allowed * 1e6:,.0f} µs per task "
        f"with every core busy = {allowed / per_msg:.1f} ceiling messages; a task assigned and finished costs "
        f"{per_task * 1e6:,.0f} µs = {per_task / per_msg:.1f}"
    )
    FIGURES.add("CPU per message of the ceiling (all processes)", per_msg * 1e6, "µs")
    FIGURES.add(
        "CPU per task assigned and finished, in ceiling messages",
        per_task / per_msg,
        "messages",
        at_most(allowed / per_msg),
    )
