"""Prometheus metrics of the swarm-coordinator."""

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
