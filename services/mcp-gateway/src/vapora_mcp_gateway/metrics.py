"""Prometheus metrics of the mcp-gateway (listed in docs/mcp-gateway.md)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS = Counter(
    "vapora_mcp_calls_total",
    "Tool calls through the gateway, by server, tool and outcome "
    "(ok, tool_error, invalid_argument, permission_denied, not_found, failed_precondition, timeout,"
    " unavailable, error).",
    ["server", "tool", "outcome"],
)
CALL_SECONDS = Histogram(
    "vapora_mcp_call_seconds",
    "Latency of tool calls that reached an MCP server, by server.",
    ["server"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SERVERS_UP = Gauge("vapora_mcp_servers_up", "MCP servers with a live session.")
SERVER_RESTARTS = Counter(
    "vapora_mcp_server_restarts_total", "Reconnections (restarts of stdio servers), by server.", ["server"]
)
PUBLISH_FAILURES = Counter(
    "vapora_mcp_publish_failures_total", "McpCall events that could not be published.", ["server"]
)
RESULTS_TRUNCATED = Counter(
    "vapora_mcp_results_truncated_total",
    "Tool results cut to VAPORA_MCP_MAX_RESULT_BYTES before they were returned, by server.",
    ["server"],
)
UNAUTHENTICATED = Counter(
    "vapora_mcp_unauthenticated_total",
    "Requests refused for a missing, malformed, forged or expired job token, by how they came in.",
    ["via"],
)
