"""Settings of the api-gateway (env prefix ``VAPORA_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from vapora_core.bus.topology import BUCKETS
from vapora_core.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "api-gateway"
    http_host: str = Field(default="127.0.0.1", description="Interface of the public HTTP API.")
    http_port: int = Field(default=8080, description="Port of the HTTP API, /metrics and /readyz.")
    config_dir: Path = Field(default=Path("config"), description="The repo's config/ directory.")
    jwt_secret: str = Field(
        default="",
        description="HS256 key of access and refresh tokens; empty: a key kept in <data_dir>/api-gateway.jwt-key.",
    )
    access_ttl_s: int = Field(default=15 * 60, description="Lifetime of access tokens.")
    refresh_ttl_s: int = Field(default=7 * 24 * 3600, description="Lifetime of refresh tokens.")
    rate_limit_user: int = Field(default=6000, description="Requests per user per rate window.")
    rate_limit_ip: int = Field(default=12000, description="Requests per client IP per rate window.")
    rate_window_s: float = Field(
        default=60.0, gt=0, le=3600, description="Length of the rate-limit window (at most an hour)."
    )
    login_free_attempts: int = Field(default=5, description="Failed logins per account before back-off.")
    login_free_attempts_ip: int = Field(default=20, description="Failed logins per client IP before back-off.")
    login_backoff_s: float = Field(default=1.0, description="First lock after the free failed logins; doubles.")
    login_backoff_max_s: float = Field(
        default=900.0,
        gt=0,
        le=BUCKETS.LOGIN_THROTTLE.ttl_s,
        description="Longest login lock; also when a record is forgotten (at most a day).",
    )
    max_body_bytes: int = Field(default=1024 * 1024, description="Largest accepted request body.")
    registry_addr: str = Field(default="127.0.0.1:50051", description="agent-registry gRPC address.")
    coordinator_addr: str = Field(default="127.0.0.1:50052", description="swarm-coordinator gRPC address.")
    router_addr: str = Field(default="127.0.0.1:50053", description="llm-router gRPC address.")
    kg_addr: str = Field(default="127.0.0.1:50054", description="knowledge-graph gRPC address.")
    mcp_addr: str = Field(default="127.0.0.1:50055", description="mcp-gateway gRPC address (repositories, diffs).")
    repo_attach_timeout_s: float = Field(
        default=150.0, gt=0, description="Deadline of attaching a repository (a remote is cloned meanwhile)."
    )
    argon2_time_cost: int = Field(default=2, description="argon2id time cost of password hashes.")
    argon2_memory_kib: int = Field(default=19 * 1024, description="argon2id memory cost (KiB).")

    @property
    def policy_dir(self) -> Path:
        return self.config_dir / "policies"
