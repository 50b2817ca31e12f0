"""Profiles and curves per workspace as well as fleet-wide: an execution counts in both, a
workspace's own show only its executions, and a person's correction moves both; real nats-server,
embedded SurrealDB, gRPC over loopback."""

from __future__ import annotations

import grpc
import pytest
from kgkit import execution, publish  # type: ignore[import-not-found]

from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_testing.apps import grpc_stub
from vapora_testing.polling import eventually


def ask(agent: str = "a1", ws: str = "") -> kg_pb2.GetLearningProfileRequest:
    return kg_pb2.GetLearningProfileRequest(agent_id=agent, task_type="testing", workspace_id=ws)


async def test_each_workspace_sees_only_its_executions_and_the_fleet_sees_them_all(
    bus: Bus, kg: KnowledgeGraphApp
) -> None:
    await publish(
        bus,
        execution("w1-a", ws="ws1", success=True),
        execution("w1-b", ws="ws1", success=True),
        execution("w2-a", ws="ws2", success=False),
        execution("w2-u", ws="ws2", success=True),
    )
    unverified = execution("w2-unverified", ws="ws2", success=True)  # stored, never counted
    unverified.verified = False
    await publish(bus, unverified)
    async with grpc_stub(kg.grpc_port, kg_pb2_grpc.KnowledgeGraphStub) as kg_stub:

        async def counted() -> bool:
            try:
                fleet = await kg_stub.GetLearningProfile(ask())
            except grpc.aio.AioRpcError:
                return False
            return fleet.executions == 4

        await eventually(counted, timeout=15.0, what="the fleet-wide profile of 4 executions")
        fleet, one, two = [await kg_stub.GetLearningProfile(ask(ws=ws)) for ws in ("", "ws1", "ws2")]
        assert (fleet.workspace_id, fleet.executions, fleet.successes) == ("", 4, 3)
        assert (one.workspace_id, one.executions, one.successes, one.expertise) == ("ws1", 2, 2, 1.0)
        assert (two.workspace_id, two.executions, two.successes) == ("ws2", 2, 1)
        for p in (fleet, one, two):
            assert p.recent_successes == pytest.approx(p.successes) and p.recent_failures == pytest.approx(
                p.executions - p.successes
            )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await kg_stub.GetLearningProfile(ask(ws="ws3"))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND and "in workspace ws3" in (err.value.details() or "")

        listed = await kg_stub.GetLearningProfiles(
            kg_pb2.GetLearningProfilesRequest(agent_ids=["a1"], task_type="testing", workspace_id="ws1")
        )
        assert [(p.workspace_id, p.executions) for p in listed.profiles] == [("ws1", 2)]
        everyone = await kg_stub.GetLearningProfiles(kg_pb2.GetLearningProfilesRequest(agent_ids=["a1"]))
        assert [(p.workspace_id, p.executions) for p in everyone.profiles] == [("", 4)]

        def curve(ws: str) -> kg_pb2.GetLearningCurveRequest:
            return kg_pb2.GetLearningCurveRequest(agent_id="a1", task_type="testing", days=30, workspace_id=ws)

        assert [(c.executions, c.successes) for c in (await kg_stub.GetLearningCurve(curve(""))).points] == [(4, 3)]
        assert [(c.executions, c.successes) for c in (await kg_stub.GetLearningCurve(curve("ws1"))).points] == [(2, 2)]
        assert [(c.executions, c.successes) for c in (await kg_stub.GetLearningCurve(curve("ws2"))).points] == [(2, 1)]
        assert (await kg_stub.GetLearningCurve(curve("ws3"))).points == []

        # a person's verdict on ws2's failure moves ws2's profile and the fleet's, not ws1's
        await bus.publish(
            subjects.feedback("ws2"),
            tasks_pb2.FeedbackCorrection(task_id="task-w2-a", workspace_id="ws2", success=True, quality=0.9),
        )

        async def corrected() -> bool:
            return (await kg_stub.GetLearningProfile(ask(ws="ws2"))).successes == 2

        await eventually(corrected, timeout=15.0, what="ws2's profile corrected by the feedback")
        fleet, one = await kg_stub.GetLearningProfile(ask()), await kg_stub.GetLearningProfile(ask(ws="ws1"))
        assert (fleet.executions, fleet.successes) == (4, 4) and (one.executions, one.successes) == (2, 2)
        assert [(c.executions, c.successes) for c in (await kg_stub.GetLearningCurve(curve("ws2"))).points] == [(2, 2)]
