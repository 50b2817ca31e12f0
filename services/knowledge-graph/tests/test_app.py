"""knowledge-graph end to end in-process: real nats-server, embedded SurrealDB, gRPC over loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from kgkit import NOW, execution, publish  # type: ignore[import-not-found]
from prometheus_client import REGISTRY

from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, ConsumerSpec, Delivery, subjects
from vapora_knowledge_graph import metrics
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_knowledge_graph.learning import DAY_S
from vapora_knowledge_graph.settings import KgSettings
from vapora_testing.apps import grpc_stub
from vapora_testing.clock import ManualClock
from vapora_testing.polling import eventually

PROFILES = ConsumerSpec(durable="test-profiles", stream="KG", filter_subjects=("kg.profiles.changed",))


async def test_executions_build_a_recency_weighted_profile_counted_once_and_announced(
    bus: Bus, kg: KnowledgeGraphApp
) -> None:
    announced: list[kg_pb2.LearningProfile] = []

    async def on_profiles(msg: kg_pb2.ProfilesChanged, _: Delivery) -> None:
        announced.extend(msg.profiles)

    await bus.subscribe(PROFILES, kg_pb2.ProfilesChanged, on_profiles)
    old_fail, new_ok = execution("e1", success=False, age_days=14), execution("e2", success=True, age_days=0)
    await publish(bus, old_fail, new_ok, new_ok)  # e2 delivered twice
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as kg_stub:

        async def two() -> bool:
            try:
                p = await kg_stub.GetLearningProfile(
                    kg_pb2.GetLearningProfileRequest(agent_id="a1", task_type="testing")
                )
            except grpc.aio.AioRpcError:
                return False
            return p.executions == 2 and len(announced) >= 3

        await eventually(two, timeout=15.0, what="a1's testing profile of 2 executions, announced")
        p = await kg_stub.GetLearningProfile(kg_pb2.GetLearningProfileRequest(agent_id="a1", task_type="testing"))
        assert (p.executions, p.successes) == (2, 1)
        w_old, w_new = 3 * 2.718281828459045**-2, 3.0
        assert p.expertise == pytest.approx(w_new / (w_old + w_new))
        assert p.confidence == pytest.approx(0.1)
        assert p.mean_quality == pytest.approx(0.5)
        assert announced[-1].executions == 2
        curve = await kg_stub.GetLearningCurve(
            kg_pb2.GetLearningCurveRequest(agent_id="a1", task_type="testing", days=30)
        )
        assert [(c.executions, c.successes) for c in curve.points] == [(1, 0), (1, 1)]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await kg_stub.GetLearningProfile(kg_pb2.GetLearningProfileRequest(agent_id="nobody", task_type="testing"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_metrics_show_every_profile_also_after_a_restart(
    bus: Bus, nats_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    settings = KgSettings(nats_url=nats_url, store_url=f"surrealkv://{tmp_path / 'kg-m'}", grpc_port=0)
    exported = REGISTRY.get_sample_value
    labels = {"agent_id": "m1", "task_type": "testing"}
    app = KnowledgeGraphApp(settings, clock=clock)
    await app.start()
    try:
        await publish(bus, execution("m-1", agent="m1", success=True), execution("m-2", agent="m1", success=False))

        async def counted() -> bool:
            return exported("vapora_kg_profile_confidence", labels) == pytest.approx(2 / 20)

        await eventually(counted, timeout=15.0, what="m1's confidence gauge at 2/20")
        assert exported("vapora_kg_profile_expertise", labels) == pytest.approx(0.5)
    finally:
        await app.stop()
    metrics.EXPERTISE.clear()
    metrics.CONFIDENCE.clear()
    app = KnowledgeGraphApp(settings, clock=clock)
    await app.start()  # no new execution: the stored profile is shown from the start
    try:
        assert exported("vapora_kg_profile_expertise", labels) == pytest.approx(0.5)
        assert exported("vapora_kg_profile_confidence", labels) == pytest.approx(2 / 20)
    finally:
        await app.stop()


async def test_query_executions_never_returns_another_workspaces_executions(bus: Bus, kg: KnowledgeGraphApp) -> None:
    await publish(
        bus, execution("a-1", ws="ws-a"), execution("a-2", ws="ws-a", age_days=3), execution("b-1", ws="ws-b")
    )
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as kg_stub:

        async def stored() -> bool:
            got = await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws-b"))
            return len(got.executions) == 1

        await eventually(stored, timeout=15.0, what="ws-b's execution stored")
        got = await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws-a", agent_id="a1"))
        assert sorted(e.execution_id for e in got.executions) == ["a-1", "a-2"]
        assert {e.workspace_id for e in got.executions} == {"ws-a"}
        since = kg_pb2.QueryExecutionsRequest(workspace_id="ws-a")
        since.since.FromNanoseconds(int((NOW - DAY_S) * 1e9))
        assert [e.execution_id for e in (await kg_stub.QueryExecutions(since)).executions] == ["a-1"]
        b = await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws-b", task_id="task-a-1"))
        assert list(b.executions) == []
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(agent_id="a1"))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "workspace_id" in (err.value.details() or "")


async def test_feedback_corrects_the_execution_and_the_profile_once(bus: Bus, kg: KnowledgeGraphApp) -> None:
    await publish(bus, execution("f1", success=False))
    req = kg_pb2.GetLearningProfileRequest(agent_id="a1", task_type="testing")
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as kg_stub:

        async def has(successes: int) -> bool:
            try:
                return (await kg_stub.GetLearningProfile(req)).successes == successes
            except grpc.aio.AioRpcError:
                return False

        await eventually(lambda: has(0), timeout=15.0, what="a1's profile with 0 successes")
        fb = tasks_pb2.FeedbackCorrection(
            execution_id="f1", workspace_id="ws1", success=True, quality=1.0, actor="alice"
        )
        await bus.publish(subjects.feedback("ws1"), fb)
        await bus.publish(subjects.feedback("ws1"), fb)
        await eventually(lambda: has(1), timeout=15.0, what="a1's profile with 1 success")
        p = await kg_stub.GetLearningProfile(req)
        assert (p.executions, p.successes, p.expertise, p.mean_quality) == (1, 1, 1.0, 1.0)
        got = await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1"))
        assert got.executions[0].success


async def test_feedback_that_arrives_before_its_execution_is_applied_not_lost(bus: Bus, kg: KnowledgeGraphApp) -> None:
    fb = tasks_pb2.FeedbackCorrection(execution_id="early", workspace_id="ws1", success=True, quality=0.9)
    await bus.publish(subjects.feedback("ws1"), fb)
    await asyncio.sleep(0.3)  # the correction is now being retried: its execution is not stored yet
    await publish(bus, execution("early", success=False))
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as kg_stub:

        async def corrected() -> bool:
            got = await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1"))
            return bool(got.executions) and got.executions[0].success

        await eventually(corrected, timeout=15.0, what="the early correction applied")


async def test_bad_execution_is_dead_lettered_with_its_reason_and_retention_drops_old_ones(
    bus: Bus, kg: KnowledgeGraphApp, clock: ManualClock
) -> None:
    sub = await bus.nc.subscribe("dlq.executions.>")
    bad = execution("bad")
    bad.quality = 7.0
    await publish(bus, bad, execution("old", age_days=40), execution("new", age_days=1))
    dead = await sub.next_msg(timeout=10)
    assert "quality must be within [0, 1], got 7.0" in dead.headers["vapora-dlq-reason"]
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as kg_stub:

        async def both() -> bool:
            got = await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1"))
            return len(got.executions) == 2

        await eventually(both, timeout=15.0, what="the two valid executions stored")
        assert kg.kg is not None
        assert await kg.kg.sweep(30) == 1
        got = await kg_stub.QueryExecutions(kg_pb2.QueryExecutionsRequest(workspace_id="ws1"))
        assert [e.execution_id for e in got.executions] == ["new"]
        p = await kg_stub.GetLearningProfile(kg_pb2.GetLearningProfileRequest(agent_id="a1", task_type="testing"))
        assert p.executions == 2  # profiles keep what they learnt
