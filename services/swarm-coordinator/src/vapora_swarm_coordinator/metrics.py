"""Prometheus metrics of the swarm-coordinator.

The hot path counts through :func:`assigned` and :func:`finished`, which keep each label
combination's child: ``Counter.labels`` costs a lock and a tuple of the label values per call.
"""

import functools

from prometheus_client import Counter

ASSIGNMENTS = Counter(
    "vapora_coordinator_assignments_total",
    "Tasks assigned, by task type and whether learning data decided.",
    ["task_type", "learning_data"],
)
FINISHED = Counter("vapora_coordinator_tasks_finished_total", "Tasks finished, by state (done, failed).", ["state"])
REASSIGNMENTS = Counter("vapora_coordinator_reassignments_total", "Tasks moved to another agent.")
HELD = Counter("vapora_coordinator_held_total", "Tasks handed back to the queue, by why (busy, no_agent).", ["why"])
STALE = Counter("vapora_coordinator_stale_executions_total", "Executions of jobs that no longer hold their task.")


@functools.lru_cache(maxsize=1024)
def assigned(task_type: str, learning_data: bool) -> Counter:
    """The ASSIGNMENTS child of one task type and learning mode."""
    return ASSIGNMENTS.labels(task_type, "yes" if learning_data else "no")


@functools.lru_cache(maxsize=8)
def finished(state: str) -> Counter:
    """The FINISHED child of one final state."""
    return FINISHED.labels(state)
