"""agent-registry's own Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

AGENTS = Gauge("vapora_registry_agents", "Registered agents, by status.", ["status"])
CHANGES = Counter("vapora_registry_changes_total", "Changes published on agents.changed, by kind.", ["kind"])
HEARTBEATS = Counter(
    "vapora_registry_heartbeats_total", "Heartbeats received, by outcome (ok, unknown_agent).", ["outcome"]
)
