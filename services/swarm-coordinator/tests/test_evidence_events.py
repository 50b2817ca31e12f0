"""A finished task's status event carries its execution's evidence: the verification its outcome
rests on and the job's commit, so the gateway's read model (and the board) can show them. Real
nats-server (JetStream), embedded SurrealDB."""

from __future__ import annotations

from typing import Any

from coordinator_testkit import EventLog, SimAgent, running, submit, task

from vapora.common.v1 import common_pb2
from vapora.kg.v1 import kg_pb2
from vapora_core.bus import Bus
from vapora_swarm_coordinator.settings import CoordinatorSettings


def evidence_of(e: kg_pb2.ExecutionRecorded) -> None:
    if e.task_type != "coding":
        return  # a task of no repository: no evidence but the outcome
    e.verification.kind, e.verification.command, e.verification.passed = "tests", "pytest -q", e.success
    e.verification.tests_passed, e.verification.tests_failed = (3, 0) if e.success else (2, 1)
    e.verification.newly_failing.extend([] if e.success else ["tests/test_stock.py::test_add"])
    e.artifacts.commit, e.artifacts.branch = f"c-{e.task_id}", f"vapora/{e.task_id}"
    e.artifacts.files_changed.append("src/inventory/stock.py")


async def test_done_and_failed_events_carry_the_verification_and_the_commit(
    bus: Bus, events: EventLog, registry: Any, coordinator_settings: CoordinatorSettings
) -> None:
    fake, _ = registry
    fake.add("dev", "coding", "documentation", max_concurrency=4)
    good, bad, docs = task("coding", title="fix"), task("coding", title="break"), task("documentation")
    agent = SimAgent("dev", bus, succeed=lambda job: job.task.title != "break", evidence=evidence_of)
    async with running(coordinator_settings):
        await agent.start(max_concurrency=4)
        for t in (good, bad, docs):
            await submit(bus, t)
        await events.wait_for(lambda: all(events.final(t.id) is not None for t in (good, bad, docs)))
    done, failed, plain = (events.final(t.id) for t in (good, bad, docs))
    assert done is not None and failed is not None and plain is not None
    assert done.state == common_pb2.TASK_STATE_DONE and failed.state == common_pb2.TASK_STATE_FAILED
    assert (done.verification.kind, done.verification.tests_passed, done.verification.passed) == ("tests", 3, True)
    assert list(failed.verification.newly_failing) == ["tests/test_stock.py::test_add"]
    assert (done.artifacts.commit, done.artifacts.branch) == (f"c-{good.id}", f"vapora/{good.id}")
    assert list(failed.artifacts.files_changed) == ["src/inventory/stock.py"]
    assert not plain.HasField("verification") and not plain.HasField("artifacts")
