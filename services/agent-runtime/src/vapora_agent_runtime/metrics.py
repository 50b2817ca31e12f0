"""agent-runtime's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter(
    "vapora_runtime_jobs_total",
    "Jobs handled, by agent, role, task type and outcome (success, failure, retry, dead_letter, stopped).",
    ["agent", "role", "task_type", "outcome"],
)
JOB_SECONDS = Histogram(
    "vapora_runtime_job_seconds",
    "Time to execute one job, by role and task type.",
    ["role", "task_type"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
TOKENS = Counter(
    "vapora_runtime_tokens_total",
    "LLM tokens spent by executions, by role, task type and direction (input, output).",
    ["role", "task_type", "direction"],
)
IN_FLIGHT = Gauge("vapora_runtime_jobs_in_flight", "Jobs being executed, by agent.", ["agent"])
AGENTS = Gauge("vapora_runtime_agents", "Agents hosted by this runtime.")
STEPS = Histogram(
    "vapora_runtime_steps_per_job",
    "Steps (model turns and tool calls) of a job's run, by role.",
    ["role"],
    buckets=(1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144),
)
TOOL_CALLS = Counter(
    "vapora_runtime_tool_calls_total",
    "Tool calls of agents' runs, by tool (server.tool; unknown for a name no tool has) and outcome.",
    ["tool", "outcome"],
)
LOOP_STOPS = Counter(
    "vapora_runtime_loop_stops_total",
    "Runs of the tool loop that ended, by role and stop reason (final_answer, max_steps, loop, ...).",
    ["role", "reason"],
)
