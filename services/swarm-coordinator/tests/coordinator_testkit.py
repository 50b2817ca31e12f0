"""Test kit of the coordinator's tests: an in-test AgentRegistry over real gRPC, simulated agents, the
coordinator started and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf.message import Message

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.common.v1 import common_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import CONSUMERS, Bus, Delivery, subjects
from vapora_core.store import Row, Store
from vapora_swarm_coordinator.app import CoordinatorApp
from vapora_swarm_coordinator.repository import NAMESPACE
from vapora_swarm_coordinator.service import Coordinator
from vapora_swarm_coordinator.settings import CoordinatorSettings
from vapora_testing.apps import started
from vapora_testing.executions import execution_of, publish_execution
from vapora_testing.polling import eventually
from vapora_testing.process import ServiceProcess, service_env

M = TypeVar("M", bound=Message)
EVENTS_SUBJECTS = "events.task.*"

PRIORITY = {
    "critical": common_pb2.PRIORITY_CRITICAL,
    "high": common_pb2.PRIORITY_HIGH,
    "normal": common_pb2.PRIORITY_NORMAL,
    "low": common_pb2.PRIORITY_LOW,
}


class FakeRegistry(agents_pb2_grpc.AgentRegistryServicer):
    """A real AgentRegistry gRPC service whose agents the test sets."""

    def __init__(self) -> None:
        self.agents: dict[str, agents_pb2.Agent] = {}

    def add(
        self, agent_id: str, *types: str, max_concurrency: int = 1, workspace_id: str = "", role: str = "developer"
    ) -> agents_pb2.Agent:
        agent = agents_pb2.Agent(
            id=agent_id,
            role=role,
            max_concurrency=max_concurrency,
            workspace_id=workspace_id,
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            capabilities=[agents_pb2.Capability(task_type=t) for t in types],
        )
        self.agents[agent_id] = agent
        return agent

    async def ListAgents(self, request: Any, context: Any) -> agents_pb2.ListAgentsResponse:
        return agents_pb2.ListAgentsResponse(agents=list(self.agents.values()))


async def registry_process(nats_url: str, tmp_path: Path) -> ServiceProcess:
    """The real agent-registry as its own process (heartbeats not required: the agents of these
    tests are test code, which sends none), started."""
    env = service_env(nats_url, tmp_path / "registry", VAPORA_HEARTBEAT_TIMEOUT_S="300", VAPORA_REMOVE_AFTER_S="600")
    return await ServiceProcess("vapora_agent_registry", env, tmp_path, tmp_path / "registry.log").start()


@contextlib.asynccontextmanager
async def running(settings: CoordinatorSettings, **changes: Any) -> AsyncIterator[CoordinatorApp]:
    """The coordinator in this process, started with ``settings`` (``changes`` applied); stopped on exit."""
    async with started(CoordinatorApp(settings.model_copy(update=changes))) as app:
        yield app


async def known_agents(
    app: CoordinatorApp, fake: FakeRegistry, agents: dict[str, str], *, max_concurrency: int = 1
) -> Coordinator:
    """``app``'s coordinator once it has read ``agents`` (agent id → the task type it takes, each
    ``max_concurrency`` jobs at a time) from ``fake``."""
    for agent_id, task_type in agents.items():
        fake.add(agent_id, task_type, max_concurrency=max_concurrency)
    coord = app.coordinator
    assert coord is not None
    await coord.refresh_registry(force=True)
    return coord


async def stored_assignments(store_dir: Path) -> list[Row]:
    """``task_id``, ``attempt`` and ``state`` of every assignment in the coordinator's store at
    ``store_dir`` (read once the coordinator that kept it has stopped)."""
    store = Store(f"surrealkv://{store_dir}", NAMESPACE)
    await store.open(())
    try:
        return await store.query("SELECT task_id, attempt, state FROM assignment")
    finally:
        await store.close()


def task(task_type: str = "coding", priority: str = "normal", workspace: str = "ws1", **kw: Any) -> tasks_pb2.Task:
    return tasks_pb2.Task(
        id=kw.pop("id", None) or uuid.uuid4().hex,
        workspace_id=workspace,
        task_type=task_type,
        priority=PRIORITY[priority],
        title=kw.pop("title", f"a {task_type} task"),
        **kw,
    )


async def submit(bus: Bus, t: tasks_pb2.Task, priority: str = "normal") -> None:
    await bus.publish(subjects.task(t.task_type or "untyped", priority), tasks_pb2.TaskSubmitted(task=t), msg_id=t.id)


async def submit_and_wait(bus: Bus, events: EventLog, t: tasks_pb2.Task, priority: str = "normal") -> None:
    """Submit ``t`` and wait until ``events`` holds its final event (done, failed or cancelled)."""
    await submit(bus, t, priority)
    await events.wait_for(lambda: events.final(t.id) is not None)


@dataclass
class SimAgent:
    """Test code standing in for an agent: consumes jobs.<id>, publishes ExecutionRecorded."""

    agent_id: str
    bus: Bus
    succeed: Callable[[coordinator_pb2.JobAssigned], bool] = lambda job: True
    clock: Callable[[], float] | None = None
    delay_s: float = 0.0
    usage: dict[str, Any] = field(default_factory=dict)  # tokens and cost its executions report
    jobs: list[coordinator_pb2.JobAssigned] = field(default_factory=list)
    evidence: Callable[[kg_pb2.ExecutionRecorded], None] = lambda e: None  # adds verification, artifacts

    async def start(self, max_concurrency: int = 1) -> None:
        await self.bus.subscribe(
            CONSUMERS.job(self.agent_id, max_concurrency),
            coordinator_pb2.JobAssigned,
            self._on_job,
            workers=max_concurrency,
        )

    async def _on_job(self, job: coordinator_pb2.JobAssigned, _: Delivery) -> None:
        self.jobs.append(job)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        ok = self.succeed(job)
        e = execution_of(
            job,
            agent_id=self.agent_id,
            role="developer",
            success=ok,
            quality=0.9 if ok else 0.1,
            latency_ms=12,
            result="ok" if ok else "",
            error="" if ok else "failed",
            **self.usage,
        )
        if self.clock is not None:
            e.finished_at.FromNanoseconds(int(self.clock() * 1e9))
        self.evidence(e)
        await publish_execution(self.bus, e)


class StreamLog(Generic[M]):
    """Every message of ``message_type`` on ``subjects`` of the EVENTS stream, in stream order (the
    order they were published).

    It follows the stream with nats-py's ordered consumer (no durable to clean up, no acks), whose
    callback runs one message at a time: what the test sees, and in that order, is the stream itself.
    """

    def __init__(self, message_type: type[M], subjects: str, what: str) -> None:
        self.events: list[M] = []
        self._type, self._subjects, self._what = message_type, subjects, what

    async def follow(self, bus: Bus) -> Any:
        """Start recording; returns the subscription (``await sub.unsubscribe()`` to stop)."""

        async def on_msg(msg: Any) -> None:
            ev = self._type()
            ev.ParseFromString(msg.data)
            self.events.append(ev)

        return await bus.js.subscribe(self._subjects, stream="EVENTS", cb=on_msg, ordered_consumer=True)

    async def wait_for(self, pred: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
        await eventually(pred, timeout=timeout, interval=0.02, what=what or self._what)


class EventLog(StreamLog[tasks_pb2.TaskStatusChanged]):
    """Every TaskStatusChanged, in stream order."""

    def __init__(self) -> None:
        super().__init__(tasks_pb2.TaskStatusChanged, EVENTS_SUBJECTS, "the task events")

    def states(self, task_id: str) -> list[int]:
        return [e.state for e in self.events if e.task_id == task_id]

    def final(self, task_id: str) -> tasks_pb2.TaskStatusChanged | None:
        done = [
            e
            for e in self.events
            if e.task_id == task_id and e.state in (common_pb2.TASK_STATE_DONE, common_pb2.TASK_STATE_FAILED)
        ]
        return done[-1] if done else None


class Follower(Protocol):
    async def follow(self, bus: Bus) -> Any: ...


F = TypeVar("F", bound=Follower)


@contextlib.asynccontextmanager
async def following(log: F, bus: Bus) -> AsyncIterator[F]:
    """``log`` (an :class:`EventLog`, a ``RunEvents``) recording its stream for the block, and
    unsubscribed after it (quietly: the connection may be closed by then)."""
    sub = await log.follow(bus)
    try:
        yield log
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
