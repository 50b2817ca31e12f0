"""Settings of the swarm-coordinator (env prefix ``VAPORA_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from vapora_core.settings import ServiceSettings


class CoordinatorSettings(ServiceSettings):
    service_name: str = "swarm-coordinator"
    jetstream_stats_s: float = Field(
        default=5.0,
        ge=0,
        description="Export JetStream stream and consumer gauges (queue depth, consumer lag) every N s; 0: off.",
    )
    grpc_port: int = 50052
    metrics_port: int = 9102
    registry_addr: str = Field(default="127.0.0.1:50051", description="agent-registry gRPC address.")
    kg_addr: str = Field(default="127.0.0.1:50054", description="knowledge-graph gRPC address ('' = none).")
    workers: int = Field(default=256, ge=1, description="Tasks assigned concurrently.")
    execution_workers: int = Field(default=256, ge=1, description="Executions settled concurrently.")
    buffer_per_priority: int = Field(default=512, ge=1, description="Tasks fetched ahead per priority.")
    intake_batch: int = Field(
        default=32,
        ge=1,
        description="Buffered tasks a worker takes at once, assigned together (one store write, one round of acks).",
    )
    job_signing_key: str = Field(
        default="",
        repr=False,
        description="Ed25519 private key (PEM, or @path of a PEM file) that signs each job's token; empty: no tokens.",
    )
    job_timeout_s: float = Field(default=600.0, gt=0, description="A job not finished by then is reassigned.")
    max_attempts: int = Field(default=3, ge=1, description="Assignments of one task before it is FAILED.")
    no_agent_timeout_s: float = Field(
        default=60.0, gt=0, description="A task no healthy agent is capable of is FAILED after this long."
    )
    no_agent_retry_s: float = Field(default=2.0, gt=0, description="Redelivery delay while no agent is capable.")
    capacity_wait_s: float = Field(
        default=10.0, gt=0, description="How long a worker holds a task while every capable agent is full."
    )
    ack_wait_s: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Ack wait of the task and execution consumers: how soon a message held by a crashed"
            " coordinator is delivered again (tasks held longer are kept alive with in-progress acks)."
        ),
    )
    assignment_policy: Literal["seed", "thompson"] = Field(
        default="seed",
        description=(
            "How candidates are ranked: the seed's score (exact), or thompson sampling from recent"
            " evidence with the seed's formula and expertise as prior (thompson.py;"
            " bench/bench_learning.py compares them)."
        ),
    )
    lease_ttl_s: float = Field(
        default=6.0,
        ge=0.5,
        description=(
            "The coordinator lease: the active coordinator renews it every third of this; a standby takes"
            " over once it has seen the lease unrenewed this long (so within 4/3 of it after the active one"
            " died), and an active one that could not renew it for this long stops assigning."
        ),
    )
    explain_candidates: int = Field(
        default=5, ge=1, description="How many of the best candidates an assignment stores with their scores."
    )
    registry_refresh_s: float = Field(default=2.0, gt=0, description="Least time between ListAgents on a miss.")
    sweep_interval_s: float = Field(default=5.0, gt=0, description="How often job timeouts are checked.")
    retention_days: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Assignments of tasks that are over (done, failed, cancelled) are deleted this many days"
            " after they ended; ExplainAssignment then answers not found."
        ),
    )
    retention_interval_s: float = Field(default=3600.0, gt=0, description="How often the retention sweep runs.")
    config_dir: Path = Field(
        default=Path("config"),
        description="The repo's config/: shared workflow templates in workflows.toml (re-read on SIGHUP).",
    )
    workflow_reconcile_s: float = Field(
        default=30.0,
        gt=0,
        description=(
            "A workflow stage running this long is checked against its task's assignment at each sweep"
            " (an outcome that never arrived is applied; a task never published is published)."
        ),
    )
