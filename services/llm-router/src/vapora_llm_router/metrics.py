"""Prometheus metrics of the llm-router; every name starts with ``vapora_llm_``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from vapora_llm_router.config import PROVIDERS

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
SETTLEMENT_OVERRUNS = Counter(
    "vapora_llm_settlement_overrun_total",
    "Settlements above their reservation: the provider billed more than the call was allowed to cost.",
    ["provider"],
)
SETTLEMENTS_DEFERRED = Counter(
    "vapora_llm_settlements_deferred_total",
    "Settlements the shared budget store could not take at once: kept, their holds renewed, tried again.",
)
RESERVATIONS_LAPSED = Counter(
    "vapora_llm_reservations_lapsed_total",
    "Reservations of this replica that expired while their call still ran (no renewal within the TTL).",
)
SETTLEMENT_OVERRUN_CENTS = Counter(
    "vapora_llm_settlement_overrun_cents_total",
    "Cents billed above the reservations of overrun settlements (spent, and over what budgets promised).",
    ["provider"],
)
RESERVATION_STOPS = Counter(
    "vapora_llm_reservation_stops_total",
    "Streams the router stopped because their output passed the reservation's max_tokens.",
    ["provider"],
)
MAX_TOKENS_CAPPED = Counter(
    "vapora_llm_max_tokens_capped_total",
    "Calls sent with a smaller max_tokens than asked, because a budget could pay no more (scope: role, task).",
    ["scope"],
)
TASK_CAP_REFUSALS = Counter(
    "vapora_llm_task_cap_refusals_total",
    "Calls refused because the task's cap could not pay a minimal answer (limit: cost, tokens).",
    ["limit"],
)

# Every series an alert or a dashboard reads exists from the start, at 0.
for _provider in PROVIDERS:
    SETTLEMENT_OVERRUNS.labels(_provider)
    SETTLEMENT_OVERRUN_CENTS.labels(_provider)
    RESERVATION_STOPS.labels(_provider)
for _scope in ("role", "task"):
    MAX_TOKENS_CAPPED.labels(_scope)
for _limit in ("cost", "tokens"):
    TASK_CAP_REFUSALS.labels(_limit)
