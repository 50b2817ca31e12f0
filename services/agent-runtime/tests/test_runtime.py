"""agent-runtime in this process, against the real nats-server, gRPC and (where needed) registry process.

The tests that do not look at the registry run with it down: the runtime must keep executing
jobs while its registration is retried in the background.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from vapora.agents.v1 import agents_pb2
from vapora.coordinator.v1 import coordinator_pb2
from vapora.kg.v1 import kg_pb2
from vapora_agent_runtime.app import REGISTERED, RuntimeApp
from vapora_agent_runtime.service import execution_id
from vapora_agent_runtime.settings import RuntimeSettings
from vapora_core import errors
from vapora_core.bus import DLQ_CONSUMER, DLQ_REASON, Bus, subjects
from vapora_testing.polling import eventually
from vapora_testing.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
HEALTHY = agents_pb2.AGENT_STATUS_HEALTHY


@pytest.fixture
async def start_runtime(tmp_path: Path, nats_url: str, router: Any, mcp: Any) -> AsyncIterator[Any]:
    """Start a RuntimeApp hosting only the developer; stopped at teardown."""
    apps: list[RuntimeApp] = []

    async def start(registry_addr: str) -> RuntimeApp:
        config = tmp_path / "one-agent"
        (config / "agents").mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "config" / "agents" / "developer.toml", config / "agents")
        settings = RuntimeSettings(
            nats_url=nats_url,
            config_dir=config,
            runtime_id="rt-inproc",
            registry_addr=registry_addr,
            router_addr=router[1],
            mcp_addr=mcp[1],
            heartbeat_interval_s=0.3,
            registry_check_interval_s=1.0,
            job_ack_wait_s=5.0,
            shutdown_grace_s=2.0,
            metrics_port=0,
        )
        app = RuntimeApp(settings)
        await app.start()
        apps.append(app)
        return app

    try:
        yield start
    finally:
        for app in apps:
            await app.stop()


@pytest.fixture
async def runtime(start_runtime: Any) -> RuntimeApp:
    """A runtime whose registry is down the whole time: jobs must still run (registration retries)."""
    app: RuntimeApp = await start_runtime(f"127.0.0.1:{free_port()}")
    return app


async def test_job_is_executed_through_the_router_and_recorded_once(
    start_runtime: Any,
    bus: Bus,
    router: Any,
    registry: str,
    executions: list[kg_pb2.ExecutionRecorded],
    helpers: Any,
) -> None:
    runtime = await start_runtime(registry)
    await eventually(lambda: runtime.host.agents["developer"].registered, timeout=15.0, what="registration")
    await eventually(lambda: not runtime.readiness.waiting_for, timeout=15.0, what="readiness")
    [agent] = await helpers.list_agents(registry, capability="coding", status=HEALTHY)
    assert (agent.id, agent.runtime_id, agent.role) == ("developer", "rt-inproc", "developer")

    await helpers.publish_job(bus, helpers.make_job("j-1", "developer", "t-1", "Implement the login endpoint"))
    await eventually(lambda: len(executions) == 1, timeout=15.0, what="the execution")
    [event] = executions
    assert event.execution_id == execution_id("j-1", 1)
    assert (event.task_id, event.workspace_id, event.agent_id, event.task_type) == (
        "t-1",
        "ws-1",
        "developer",
        "coding",
    )
    assert event.success and event.quality > 0.5
    assert (event.provider, event.model, event.input_tokens, event.output_tokens) == ("offline", "offline-echo", 42, 17)
    assert "Implement the login endpoint" in event.result
    servicer = router[0]
    assert [c.task_id for c in servicer.calls] == ["t-1"]
    assert servicer.calls[0].system.startswith("You are a senior software developer")


async def test_transient_router_failures_are_retried_with_backoff_and_recorded_once(
    runtime: RuntimeApp, bus: Bus, router: Any, executions: list[kg_pb2.ExecutionRecorded], helpers: Any
) -> None:
    assert runtime.readiness.waiting_for == [REGISTERED]  # not ready while its agents are not registered
    servicer = router[0]
    # vapora_core.grpc.call retries 3 times per delivery; 4 failures force a bus redelivery too.
    servicer.fail["t-flaky"] = (4, errors.Unavailable("provider overloaded"))
    await helpers.publish_job(bus, helpers.make_job("j-flaky", "developer", "t-flaky", "Fix the flaky test"))
    await eventually(lambda: len(executions) == 1, timeout=20, what="the execution")
    assert executions[0].success and executions[0].job_id == "j-flaky"
    assert len([c for c in servicer.calls if c.task_id == "t-flaky"]) == 5
    await asyncio.sleep(0.5)
    assert len(executions) == 1


async def test_a_non_retryable_router_error_is_a_failed_execution_not_a_lost_job(
    runtime: RuntimeApp, bus: Bus, router: Any, executions: list[kg_pb2.ExecutionRecorded], helpers: Any
) -> None:
    router[0].fail["t-broke"] = (1, errors.ResourceExhausted("budget of role developer is exhausted"))
    await helpers.publish_job(bus, helpers.make_job("j-broke", "developer", "t-broke", "Write the parser"))
    await eventually(lambda: len(executions) == 1, timeout=15.0, what="the execution")
    [event] = executions
    assert not event.success and event.quality == 0.0
    assert "budget of role developer is exhausted" in event.error


async def test_malformed_jobs_are_dead_lettered_with_their_reason_and_the_agent_keeps_working(
    runtime: RuntimeApp, bus: Bus, executions: list[kg_pb2.ExecutionRecorded], helpers: Any
) -> None:
    await bus.publish_raw(subjects.job("developer"), b"\x08\x96\x01 not a job")
    wrong = helpers.make_job("j-wrong", "developer", "t-wrong", "Do something")
    wrong.task.workspace_id = ""
    await helpers.publish_job(bus, wrong)
    await helpers.publish_job(bus, helpers.make_job("j-good", "developer", "t-good", "Implement the cache"))

    await eventually(lambda: len(executions) == 1, timeout=15.0, what="the good job")
    assert executions[0].job_id == "j-good"
    letters = await helpers.dead_letters(bus, 2)
    assert [s for s, _ in letters] == ["dlq.jobs.developer", "dlq.jobs.developer"]
    reasons = [h[DLQ_REASON] for _, h in letters]
    assert any("does not decode" in r for r in reasons)
    assert any("task.workspace_id is required" in r for r in reasons)
    assert {h[DLQ_CONSUMER] for _, h in letters} == {"job-developer"}


async def test_heartbeats_report_current_load_while_a_job_runs(
    start_runtime: Any, bus: Bus, router: Any, registry: str, helpers: Any
) -> None:
    await start_runtime(registry)
    servicer = router[0]
    servicer.hold_first.add("t-long")
    await helpers.publish_job(bus, helpers.make_job("j-long", "developer", "t-long", "A long job"))
    await servicer.arrival("t-long").wait()

    async def load() -> int:
        agents = await helpers.list_agents(registry, role="developer")
        return agents[0].current_load if agents else -1  # registration runs in the background: not yet

    async def loaded() -> bool:
        return await load() == 1

    await eventually(loaded, timeout=5.0, interval=0.1, what="the developer's heartbeat with load 1")
    assert await load() == 1


async def test_reload_adds_changes_and_removes_agents_and_a_bad_manifest_keeps_the_previous_set(
    start_runtime: Any, bus: Bus, registry: str, executions: list[kg_pb2.ExecutionRecorded], helpers: Any
) -> None:
    runtime = await start_runtime(registry)
    agents_dir = runtime.settings.agents_dir
    developer = (agents_dir / "developer.toml").read_text()
    (agents_dir / "reviewer.toml").write_text(
        developer.replace('id = "developer"', 'id = "reviewer"').replace('role = "developer"', 'role = "code-reviewer"')
    )
    (agents_dir / "developer.toml").write_text(developer.replace("max_concurrency = 4", "max_concurrency = 1"))
    await runtime.reload()

    async def ids() -> set[str]:
        return {a.id for a in await helpers.list_agents(registry)}

    async def both() -> bool:
        return await ids() == {"developer", "reviewer"}

    await eventually(both, timeout=10.0, interval=0.1, what="the developer and the reviewer registered")
    assert await ids() == {"developer", "reviewer"}
    await eventually(lambda: runtime.host.agents["developer"].registered, timeout=15.0, what="re-registration")
    [dev] = await helpers.list_agents(registry, role="developer")
    assert dev.max_concurrency == 1

    # the re-subscribed developer and the new reviewer both take work
    await helpers.publish_job(bus, helpers.make_job("j-d", "developer", "t-d", "Write the migration"))
    await helpers.publish_job(bus, helpers.make_job("j-r", "reviewer", "t-r", "Review the migration"))
    await eventually(lambda: len(executions) == 2, timeout=15.0, what="both executions")
    assert {(e.agent_id, e.job_id) for e in executions} == {("developer", "j-d"), ("reviewer", "j-r")}

    (agents_dir / "reviewer.toml").unlink()
    (agents_dir / "broken.toml").write_text('id = "broken"\nrole = "x"\n')
    with pytest.raises(errors.ConfigError, match=r"broken\.toml"):
        await runtime.reload()
    assert set(runtime.host.agents) == {"developer", "reviewer"}  # previous set kept

    (agents_dir / "broken.toml").unlink()
    await runtime.reload()
    assert set(runtime.host.agents) == {"developer"}
    assert await ids() == {"developer"}


def stopped_jobs() -> float:
    labels = {"agent": "developer", "role": "developer", "task_type": "coding", "outcome": "stopped"}
    return REGISTRY.get_sample_value("vapora_runtime_jobs_total", labels) or 0.0


async def settled(bus: Bus, helpers: Any) -> None:
    """Every job on the developer's consumer delivered and acked: none will come back."""

    async def info() -> Any:
        return await bus.js.consumer_info("JOBS", "job-developer")

    await eventually(
        info,
        timeout=5.0,
        what="no job pending or unacked on job-developer",
        until=lambda got: got.num_pending == 0 and got.num_ack_pending == 0,
    )


def stop(job_id: str, task_id: str) -> coordinator_pb2.JobStopped:
    return coordinator_pb2.JobStopped(
        job_id=job_id, task_id=task_id, workspace_id="ws-1", agent_id="developer", reason="task cancelled"
    )


async def test_a_stop_broadcast_cancels_the_running_job_without_an_execution_and_the_agent_keeps_working(
    runtime: RuntimeApp, bus: Bus, router: Any, executions: list[kg_pb2.ExecutionRecorded], helpers: Any
) -> None:
    servicer = router[0]
    servicer.hold_first.add("t-stop")  # its LLM call blocks until the caller goes away
    before = stopped_jobs()
    cancelled = {"role": "developer", "reason": "cancelled"}
    loops_before = REGISTRY.get_sample_value("vapora_runtime_loop_stops_total", cancelled) or 0.0
    await helpers.publish_job(bus, helpers.make_job("j-stop", "developer", "t-stop", "A job to be cancelled"))
    await asyncio.wait_for(servicer.arrival("t-stop").wait(), 10)
    assert runtime.host is not None
    hosted = runtime.host.agents["developer"]
    assert hosted.in_flight == 1

    await bus.broadcast(subjects.stop("developer"), stop("j-stop", "t-stop"))  # from another connection
    await eventually(lambda: hosted.in_flight == 0, timeout=15.0, what="the running job to stop")
    assert stopped_jobs() == before + 1
    assert REGISTRY.get_sample_value("vapora_runtime_loop_stops_total", cancelled) == loops_before + 1

    await helpers.publish_job(bus, helpers.make_job("j-next", "developer", "t-next", "Implement the next thing"))
    await eventually(lambda: len(executions) == 1, timeout=15.0, what="the next job's execution")
    assert executions[0].job_id == "j-next" and executions[0].success
    await settled(bus, helpers)  # the stopped job was acked, not handed back
    await asyncio.sleep(0.3)
    assert [e.job_id for e in executions] == ["j-next"]
    assert [c.task_id for c in servicer.calls] == ["t-stop", "t-next"]


async def test_a_job_arriving_after_its_stop_is_skipped_and_acked(
    runtime: RuntimeApp, bus: Bus, router: Any, executions: list[kg_pb2.ExecutionRecorded], helpers: Any
) -> None:
    assert runtime.host is not None
    stops = runtime.host.stops
    before = stopped_jobs()
    await bus.broadcast(subjects.stop("developer"), stop("j-early", "t-early"))
    await eventually(lambda: stops.stopped("j-early"), timeout=15.0, what="the runtime to hear the stop")

    await helpers.publish_job(bus, helpers.make_job("j-early", "developer", "t-early", "Cancelled before it ran"))
    await helpers.publish_job(bus, helpers.make_job("j-after", "developer", "t-after", "Write the changelog"))
    await eventually(lambda: len(executions) == 1, timeout=15.0, what="the following job's execution")
    assert executions[0].job_id == "j-after"
    await settled(bus, helpers)
    await asyncio.sleep(0.3)
    assert [e.job_id for e in executions] == ["j-after"]
    assert [c.task_id for c in router[0].calls] == ["t-after"]
    assert stopped_jobs() == before + 1
