"""Every JetStream stream, subject, durable consumer and key-value bucket of the fleet, in one place.

The one exception: the coordinator's four task consumers are its own policy (their buffer and
failure bound), declared in its package. docs/messaging.md lists the same tables; a test keeps
them in step.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal

from vapora_core.errors import InvalidArgument

Retention = Literal["limits", "workqueue", "interest"]

DAY = 24 * 3600.0

# Task priorities, highest first: the last token of tasks.<type>.<priority>.
PRIORITIES: tuple[str, ...] = ("critical", "high", "normal", "low")


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    retention: Retention = "limits"
    max_age_s: float = 7 * DAY
    duplicate_window_s: float = 120.0
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerSpec:
    """A durable pull consumer."""

    durable: str
    stream: str
    filter_subjects: tuple[str, ...]
    ack_wait_s: float = 30.0
    max_deliver: int = 5
    max_ack_pending: int = 1000
    batch_size: int = 32  # messages a consumer keeps buffered or requested ahead
    deliver_new_only: bool = False
    # With unlimited redelivery (max_deliver <= 0), how many deliveries a retryable failure
    # gets before it is dead-lettered. Holds (nak with a delay) count as deliveries too.
    max_failures: int = 10
    description: str = field(default="", compare=False)

    @property
    def failure_limit(self) -> int:
        """Deliveries after which a message that keeps failing is dead-lettered."""
        return self.max_deliver if self.max_deliver > 0 else self.max_failures


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec(
        name="TASKS",
        # Only the four priorities are captured: a publish on any other priority token
        # fails at once (no stream answers) instead of sitting unconsumed.
        subjects=tuple(f"tasks.*.{p}" for p in PRIORITIES),
        retention="workqueue",
        duplicate_window_s=3600.0,
        description="Submitted tasks, tasks.<type>.<priority>; the task id is the message id.",
    ),
    StreamSpec(
        name="CANCELS",
        subjects=("cancels.*",),
        retention="workqueue",
        max_age_s=1 * DAY,
        duplicate_window_s=3600.0,
        description="Cancelled tasks, cancels.<workspace>; the task id is the message id.",
    ),
    StreamSpec(
        name="JOBS",
        subjects=("jobs.>",),
        retention="workqueue",
        duplicate_window_s=3600.0,
        description="Jobs for one agent, jobs.<agent_id>; the job id is the message id.",
    ),
    StreamSpec(
        name="EXECUTIONS",
        subjects=("executions.>",),
        description="Finished executions, executions.<type>.<agent_id>.",
    ),
    StreamSpec(
        name="STEPS",
        subjects=("steps.>",),
        description="Steps of agents' runs (model turns, tool calls), steps.<type>.<agent_id>.",
    ),
    StreamSpec(
        name="EVENTS",
        subjects=("events.>",),
        max_age_s=1 * DAY,
        description=(
            "Task status events events.task.<workspace> and workflow run changes events.workflow.<workspace>;"
            " the resume window of clients."
        ),
    ),
    StreamSpec(
        name="AGENTS",
        subjects=("agents.>",),
        max_age_s=3600.0,
        description="Heartbeats agents.heartbeat.<id> and membership changes agents.changed.",
    ),
    StreamSpec(
        name="KG",
        subjects=("kg.>",),
        max_age_s=1 * DAY,
        description="Knowledge-graph notifications, kg.profiles.changed.",
    ),
    StreamSpec(
        name="LLM",
        subjects=("llm.>",),
        description="LLM usage events, llm.usage.<role>.",
    ),
    StreamSpec(
        name="MCP",
        subjects=("mcp.>",),
        description="MCP tool-call events, mcp.calls.<server>.",
    ),
    StreamSpec(
        name="FEEDBACK",
        subjects=("feedback.>",),
        max_age_s=30 * DAY,
        description="People's corrections of execution outcomes, feedback.<workspace>.",
    ),
    StreamSpec(
        name="DLQ",
        subjects=("dlq.>",),
        max_age_s=30 * DAY,
        description="Dead letters, dlq.<original subject>, reason in headers.",
    ),
)


class subjects:
    """Subject names. Tokens are sanitised so ids cannot inject wildcards or extra tokens."""

    @staticmethod
    def token(value: str) -> str:
        cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in value)
        return cleaned or "_"

    @classmethod
    def task(cls, task_type: str, priority: str) -> str:
        return f"tasks.{cls.token(task_type)}.{cls.token(priority)}"

    @classmethod
    def job(cls, agent_id: str) -> str:
        return f"jobs.{cls.token(agent_id)}"

    @classmethod
    def execution(cls, task_type: str, agent_id: str) -> str:
        return f"executions.{cls.token(task_type)}.{cls.token(agent_id)}"

    @classmethod
    def step(cls, task_type: str, agent_id: str) -> str:
        return f"steps.{cls.token(task_type)}.{cls.token(agent_id)}"

    @classmethod
    def cancel(cls, workspace_id: str) -> str:
        return f"cancels.{cls.token(workspace_id)}"

    @classmethod
    def stop(cls, agent_id: str) -> str:
        """Core NATS, in no stream: a job that must not run (``Bus.broadcast`` / ``Bus.listen``)."""
        return f"stops.{cls.token(agent_id)}"

    @classmethod
    def task_event(cls, workspace_id: str) -> str:
        return f"events.task.{cls.token(workspace_id)}"

    @classmethod
    def workflow_event(cls, workspace_id: str) -> str:
        return f"events.workflow.{cls.token(workspace_id)}"

    @classmethod
    def workspace_events(cls, workspace_id: str) -> str:
        """Every kind of event of one workspace (``events.task.<ws>``, ``events.workflow.<ws>``):
        one filter, so one stream sequence orders and resumes them all."""
        return f"events.*.{cls.token(workspace_id)}"

    @classmethod
    def heartbeat(cls, agent_id: str) -> str:
        return f"agents.heartbeat.{cls.token(agent_id)}"

    STOPS = "stops.*"  # every agent's stops, for Bus.listen
    AGENTS_CHANGED = "agents.changed"
    PROFILES_CHANGED = "kg.profiles.changed"

    @classmethod
    def llm_usage(cls, role: str) -> str:
        return f"llm.usage.{cls.token(role)}"

    @classmethod
    def mcp_call(cls, server: str) -> str:
        return f"mcp.calls.{cls.token(server)}"

    @classmethod
    def feedback(cls, workspace_id: str) -> str:
        return f"feedback.{cls.token(workspace_id)}"

    @staticmethod
    def dead_letter(subject: str) -> str:
        return f"dlq.{subject}"


class CONSUMERS:
    """The fleet's durable consumers. ``job(agent_id)`` builds the per-agent job consumer; the
    coordinator declares its four task consumers itself (their buffer and failure bound are its own).

    The coordinator's executions, cancels and agents consumers put a message back (a ``Hold``) for
    as long as its lease is lost, and a hold is a delivery: their redelivery is unlimited
    (``max_deliver=-1``), so a coordinator fenced for longer than a few lease TTLs never leaves a
    message JetStream will not offer again; a real failure is still dead-lettered after
    ``max_failures`` deliveries (holds included)."""

    COORDINATOR_EXECUTIONS = ConsumerSpec(
        durable="coordinator-executions",
        stream="EXECUTIONS",
        filter_subjects=("executions.>",),
        deliver_new_only=True,
        max_deliver=-1,
        description="swarm-coordinator: marks tasks done or failed.",
    )
    COORDINATOR_CANCELS = ConsumerSpec(
        durable="coordinator-cancels",
        stream="CANCELS",
        filter_subjects=("cancels.*",),
        max_deliver=-1,
        description="swarm-coordinator: never assigns a cancelled task, stops its job.",
    )
    COORDINATOR_AGENTS = ConsumerSpec(
        durable="coordinator-agents",
        stream="AGENTS",
        filter_subjects=("agents.changed",),
        deliver_new_only=True,
        max_deliver=-1,
        description="swarm-coordinator: keeps its in-memory view of the registry fresh.",
    )
    COORDINATOR_PROFILES = ConsumerSpec(
        durable="coordinator-profiles",
        stream="KG",
        filter_subjects=("kg.profiles.changed",),
        deliver_new_only=True,
        description="swarm-coordinator: keeps its in-memory learning profiles fresh.",
    )
    KG_EXECUTIONS = ConsumerSpec(
        durable="kg-executions",
        stream="EXECUTIONS",
        filter_subjects=("executions.>",),
        description="knowledge-graph: stores executions, updates profiles.",
    )
    KG_FEEDBACK = ConsumerSpec(
        durable="kg-feedback",
        stream="FEEDBACK",
        filter_subjects=("feedback.>",),
        description="knowledge-graph: applies people's corrections.",
    )
    KG_STEPS = ConsumerSpec(
        durable="kg-steps",
        stream="STEPS",
        filter_subjects=("steps.>",),
        description="knowledge-graph: stores the steps of runs, the transcripts of executions.",
    )
    KG_USAGE = ConsumerSpec(
        durable="kg-llm-usage",
        stream="LLM",
        filter_subjects=("llm.usage.>",),
        description="knowledge-graph: links LLM usage to executions and tasks (cost per execution, per task).",
    )
    REGISTRY_HEARTBEATS = ConsumerSpec(
        durable="registry-heartbeats",
        stream="AGENTS",
        filter_subjects=("agents.heartbeat.*",),
        ack_wait_s=10.0,
        max_deliver=3,
        deliver_new_only=True,
        description="agent-registry: liveness and load of agents.",
    )
    GATEWAY_EVENTS = ConsumerSpec(
        durable="gateway-events",
        stream="EVENTS",
        filter_subjects=("events.task.*",),
        description="api-gateway: task read model.",
    )
    GATEWAY_WORKFLOW_EVENTS = ConsumerSpec(
        durable="gateway-workflow-events",
        stream="EVENTS",
        filter_subjects=("events.workflow.*",),
        description="api-gateway: the board's rows of workflow stage tasks.",
    )

    @staticmethod
    def job(agent_id: str, max_concurrency: int = 1) -> ConsumerSpec:
        return ConsumerSpec(
            durable=f"job-{subjects.token(agent_id)}",
            stream="JOBS",
            filter_subjects=(subjects.job(agent_id),),
            ack_wait_s=30.0,
            max_deliver=5,
            max_ack_pending=max(1, max_concurrency),
            batch_size=max(1, max_concurrency),
            description=f"agent-runtime: jobs of agent {agent_id}.",
        )

    @classmethod
    def all(cls) -> tuple[ConsumerSpec, ...]:
        """Every consumer declared here (not the per-agent job consumers, nor the coordinator's
        task consumers: its own policy, in ``vapora_swarm_coordinator.intake``)."""
        return tuple(v for v in vars(cls).values() if isinstance(v, ConsumerSpec))


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketSpec:
    """A JetStream key-value bucket (:mod:`vapora_core.kv`): state replicas share with compare-and-set.

    ``ttl_s``: how long a key is kept after its last write (the bucket's ``max_age``), so keys no
    one writes any more go by themselves; what must live longer says so in its own value."""

    name: str
    ttl_s: float
    max_value_bytes: int = 256 * 1024
    description: str = field(default="", compare=False)


class BUCKETS:
    """The fleet's key-value buckets; their replicas are ``VAPORA_JETSTREAM_REPLICAS``, as the streams'."""

    BUDGET_WINDOWS = BucketSpec(
        name="budget-windows",
        # a window lasts at most 31 days: a key unwritten for 62 belongs to a window that has ended
        ttl_s=62 * DAY,
        description="llm-router: spent and live reservations of each role's budget window.",
    )
    BUDGET_TASKS = BucketSpec(
        name="budget-tasks",
        ttl_s=8 * DAY,
        description="llm-router: spent and live reservations of each task's caps.",
    )
    RATE_LIMITS = BucketSpec(
        name="rate-limits",
        ttl_s=2 * 3600.0,
        max_value_bytes=64,
        description="api-gateway: requests counted per user and per client address in each rate window.",
    )
    LOGIN_THROTTLE = BucketSpec(
        name="login-throttle",
        ttl_s=1 * DAY,
        max_value_bytes=16 * 1024,
        description="api-gateway: failed logins, locks and attempts in flight per account and per address.",
    )

    COORDINATOR_LEASE = BucketSpec(
        name="coordinator-lease",
        # the lease expires by its revision's age (VAPORA_LEASE_TTL_S); the bucket's TTL only clears a
        # key no coordinator has written for an hour
        ttl_s=3600.0,
        max_value_bytes=512,
        description="swarm-coordinator: which process is the active one (its lease, renewed by compare-and-set).",
    )

    @classmethod
    def all(cls) -> tuple[BucketSpec, ...]:
        return tuple(v for v in vars(cls).values() if isinstance(v, BucketSpec))


def _matches(pattern: str, subject: str) -> bool:
    want, got = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(got) > i
        if i >= len(got) or (part != "*" and part != got[i]):
            return False
    return len(got) == len(want)


@functools.lru_cache(maxsize=4096)
def stream_for(subject: str) -> StreamSpec:
    """The stream that captures ``subject``; ``InvalidArgument`` when none does (cached: hot path)."""
    for spec in STREAMS:
        if any(_matches(pattern, subject) for pattern in spec.subjects):
            return spec
    raise InvalidArgument(f"no stream captures subject {subject!r}")
