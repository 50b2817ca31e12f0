"""Prometheus metrics of workflow runs (docs/metrics.md, the Agents dashboard).

The gauges are this process's view: counted from the store at start, then kept by every
transition it writes (one coordinator runs the workflows of a fleet).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import Gauge, Histogram

from vapora_swarm_coordinator import metrics as coordinator_metrics
from vapora_swarm_coordinator.workflows.model import RUN_STATES

RUNS = Gauge("vapora_workflow_runs", "Workflow runs by state.", ["state"])
STAGE_SECONDS = Histogram(
    "vapora_workflow_stage_seconds",
    "How long a stage's attempt took, from its task's submission to its outcome, by workflow and stage.",
    ["workflow", "stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
WAITING = Gauge("vapora_workflow_waiting_approval", "Gates waiting for a person's approval.")
OLDEST_WAIT = Gauge(
    "vapora_workflow_oldest_approval_wait_seconds", "How long the gate waiting longest for approval has waited."
)


class Waiting:
    """The gates waiting for approval, (run, gate) → since when; the two gauges read it at scrape."""

    def __init__(self) -> None:
        self._since: dict[tuple[str, str], float] = {}
        WAITING.set_function(lambda: len(self._since))
        OLDEST_WAIT.set_function(self.oldest)

    def oldest(self) -> float:
        return time.time() - min(self._since.values()) if self._since else 0.0

    def set(self, run_id: str, gate_id: str, since_s: float | None) -> None:
        if since_s is None:
            self._since.pop((run_id, gate_id), None)
        else:
            self._since[(run_id, gate_id)] = since_s


def set_counts(counts: dict[str, int]) -> None:
    for state in RUN_STATES:
        RUNS.labels(state).set(counts.get(state, 0))


def moved(before: str | None, after: str) -> None:
    """A run went from ``before`` (None: it is new) to ``after``."""
    if before == after:
        return
    if before is not None:
        RUNS.labels(before).dec()
    RUNS.labels(after).inc()


def stage_finished(workflow: str, finished: Iterable[tuple[str, float]]) -> None:
    for stage_id, seconds in finished:
        STAGE_SECONDS.labels(workflow, stage_id).observe(seconds)


def round_trips(kind: str) -> Callable[[int, float], None]:
    """Records one group commit of ``kind`` (``workflow``: transitions; ``workflow_start``: runs
    created) in the coordinator's store-write metrics, their children looked up once."""
    seconds = coordinator_metrics.STORE_WRITE_SECONDS.labels(kind)
    items = coordinator_metrics.STORE_BATCH_ITEMS.labels(kind)

    def observe(n: int, took: float) -> None:
        seconds.observe(took)
        items.observe(n)

    return observe
