"""Prometheus metrics of the knowledge-graph."""

from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from vapora.kg.v1 import kg_pb2

EXECUTIONS = Counter(
    "vapora_kg_executions_total",
    "Executions received, by outcome (new, unverified: new and not counted in a profile, duplicate).",
    ["outcome"],
)
FEEDBACK = Counter("vapora_kg_feedback_total", "Feedback corrections applied.")
RETENTION_DELETED = Counter("vapora_kg_retention_deleted_total", "Executions deleted by the retention sweep.")
# One series per (agent, task type) with executions: what the coordinator scores agents with.
EXPERTISE = Gauge(
    "vapora_kg_profile_expertise", "Recency-weighted success rate of a learning profile.", ["agent_id", "task_type"]
)
CONFIDENCE = Gauge(
    "vapora_kg_profile_confidence", "min(1, executions / 20) of a learning profile.", ["agent_id", "task_type"]
)


def export_profiles(profiles: Iterable[kg_pb2.LearningProfile]) -> None:
    """Show ``profiles`` as they are now."""
    for p in profiles:
        EXPERTISE.labels(p.agent_id, p.task_type).set(p.expertise)
        CONFIDENCE.labels(p.agent_id, p.task_type).set(p.confidence)
