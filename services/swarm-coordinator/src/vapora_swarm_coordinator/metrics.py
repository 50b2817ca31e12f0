"""Prometheus metrics of the swarm-coordinator.

The hot path counts through :func:`assigned` and :func:`finished`, which keep each label
combination's child: ``Counter.labels`` costs a lock and a tuple of the label values per call.
"""

import functools

from prometheus_client import Counter, Gauge, Histogram

ASSIGNMENTS = Counter(
    "vapora_coordinator_assignments_total",
    "Tasks assigned, by task type and whether learning data decided.",
    ["task_type", "learning_data"],
)
FINISHED = Counter(
    "vapora_coordinator_tasks_finished_total", "Tasks finished, by state (done, failed, cancelled).", ["state"]
)
REASSIGNMENTS = Counter("vapora_coordinator_reassignments_total", "Tasks moved to another agent.")
RETENTION_DELETED = Counter(
    "vapora_coordinator_retention_deleted_total", "Assignments of finished tasks deleted by the retention sweep."
)
HELD = Counter("vapora_coordinator_held_total", "Tasks handed back to the queue, by why (busy, no_agent).", ["why"])
STORE_WRITE_SECONDS = Histogram(
    "vapora_coordinator_store_write_seconds",
    "One group-commit round trip to the store (a transaction of many items), by kind (create, finish).",
    ["kind"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
STORE_BATCH_ITEMS = Histogram(
    "vapora_coordinator_store_batch_items",
    "Items carried by one group-commit round trip, by kind (create, finish).",
    ["kind"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
LEASE_HELD = Gauge(
    "vapora_coordinator_lease_held", "1 while this process holds the coordinator lease (active, or opening the store)."
)
ACTIVATIONS = Counter(
    "vapora_coordinator_activations_total", "Times this process became the active coordinator (1, or takeovers)."
)
STALE = Counter("vapora_coordinator_stale_executions_total", "Executions of jobs that no longer hold their task.")


@functools.lru_cache(maxsize=1024)
def assigned(task_type: str, learning_data: bool) -> Counter:
    """The ASSIGNMENTS child of one task type and learning mode."""
    return ASSIGNMENTS.labels(task_type, "yes" if learning_data else "no")


@functools.lru_cache(maxsize=8)
def finished(state: str) -> Counter:
    """The FINISHED child of one final state."""
    return FINISHED.labels(state)
