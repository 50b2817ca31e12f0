"""Prometheus metrics of the llm-router; every name starts with ``vapora_llm_``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "vapora_llm_requests_total",
    "Router requests by the provider that answered (or last failed), role and outcome.",
    ["provider", "model", "role", "outcome"],
)
LATENCY = Histogram(
    "vapora_llm_request_seconds",
    "Time of one provider call, by provider.",
    ["provider"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
TOKENS = Counter(
    "vapora_llm_tokens_total",
    "Tokens by provider, model, role and direction.",
    ["provider", "model", "role", "direction"],
)
COST = Counter(
    "vapora_llm_cost_cents_total", "Spend in cents by provider, model and role.", ["provider", "model", "role"]
)
FALLBACKS = Counter(
    "vapora_llm_fallbacks_total",
    "Times a provider failed or was skipped and the next one was tried.",
    ["provider", "reason"],
)
PROVIDER_ERRORS = Counter(
    "vapora_llm_provider_errors_total", "Failed provider attempts by provider and error code.", ["provider", "code"]
)
BREAKER_STATE = Gauge(
    "vapora_llm_breaker_state", "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.", ["provider"]
)
BUDGET_UTILIZATION = Gauge(
    "vapora_llm_budget_utilization", "(spent + reserved) / limit of a role's budget window.", ["role", "window"]
)
BUDGET_REJECTIONS = Counter(
    "vapora_llm_budget_rejections_total", "Requests refused because no provider fitted the role's budget.", ["role"]
)
CONFIG_RELOADS = Counter(
    "vapora_llm_config_reloads_total", "Config reloads by file and outcome (ok, rejected).", ["file", "outcome"]
)
USAGE_WRITE_FAILURES = Counter(
    "vapora_llm_usage_write_failures_total", "Usage records that could not be stored or published.", ["sink"]
)
TOOL_CALLS = Counter(
    "vapora_llm_tool_calls_total",
    "Tool calls the models made, by provider and outcome (ok, malformed: sent back with an error).",
    ["provider", "outcome"],
)
