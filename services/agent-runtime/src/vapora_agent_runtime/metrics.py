"""agent-runtime's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter(
    "vapora_runtime_jobs_total",
    "Jobs handled, by agent and outcome (success, failure, retry, dead_letter).",
    ["agent", "outcome"],
)
JOB_SECONDS = Histogram(
    "vapora_runtime_job_seconds",
    "Time to execute one job, by role.",
    ["role"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
IN_FLIGHT = Gauge("vapora_runtime_jobs_in_flight", "Jobs being executed, by agent.", ["agent"])
AGENTS = Gauge("vapora_runtime_agents", "Agents hosted by this runtime.")
