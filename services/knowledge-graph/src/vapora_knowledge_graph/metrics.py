"""Prometheus metrics of the knowledge-graph."""

from prometheus_client import Counter

EXECUTIONS = Counter("vapora_kg_executions_total", "Executions received, by outcome (new, duplicate).", ["outcome"])
FEEDBACK = Counter("vapora_kg_feedback_total", "Feedback corrections applied.")
RETENTION_DELETED = Counter("vapora_kg_retention_deleted_total", "Executions deleted by the retention sweep.")
