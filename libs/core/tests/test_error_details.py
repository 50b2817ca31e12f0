"""An error that carries data crosses gRPC as the same type with the same fields."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora_core import errors
from vapora_core.grpc import GrpcServer, call, channel


class _Refusing(agents_pb2_grpc.AgentRegistryServicer):
    async def GetAgent(
        self, request: agents_pb2.GetAgentRequest, context: grpc.aio.ServicerContext
    ) -> agents_pb2.Agent:
        if request.agent_id == "capped":
            raise errors.BudgetExceeded(
                scope="task", owner="tâche-7 ✓", limit="cost", cap=1.0, spent=0.98, reserved=0.01, needed=0.02
            )
        if request.agent_id == "missing":
            raise errors.NotFound("agent missing is not registered")
        if request.agent_id == "no-repo":
            raise errors.NoRepository("proj-7")
        return agents_pb2.Agent(id=request.agent_id)


@pytest.fixture
async def target() -> AsyncIterator[str]:
    srv = GrpcServer(
        "test",
        "127.0.0.1",
        0,
        [(agents_pb2_grpc.add_AgentRegistryServicer_to_server, _Refusing(), "vapora.agents.v1.AgentRegistry")],
    )
    await srv.start()
    yield f"127.0.0.1:{srv.port}"
    await srv.stop(0)


async def test_a_budget_refusal_arrives_as_budget_exceeded_with_its_fields(target: str) -> None:
    async with channel(target, timeout=2.0) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        with pytest.raises(grpc.RpcError) as raw:
            await stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="capped"))
        assert raw.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "the cost cap of task tâche-7 ✓ (1¢) is reached" in raw.value.details()

        with pytest.raises(errors.BudgetExceeded) as info:
            await call(target, lambda: stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="capped")))
    err = info.value
    assert (err.scope, err.owner, err.limit) == ("task", "tâche-7 ✓", "cost")
    assert (err.cap, err.spent, err.reserved, err.needed) == (1.0, 0.98, 0.01, 0.02)
    assert not err.retryable
    assert isinstance(err, errors.ResourceExhausted)
    assert str(err).startswith(f"{target}: the cost cap of task")


async def test_errors_without_data_still_map_by_status_code(target: str) -> None:
    async with channel(target, timeout=2.0) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        with pytest.raises(errors.NotFound) as info:
            await call(target, lambda: stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="missing")))
    assert type(info.value) is errors.NotFound


def test_details_that_do_not_describe_a_budget_rebuild_nothing() -> None:
    assert errors.rebuild("budget_exceeded", "m", {"scope": "planet", "limit": "cost"}) is None
    assert errors.rebuild("budget_exceeded", "m", {"scope": "task", "limit": "cost", "cap": "lots"}) is None
    assert errors.rebuild("not_found", "m", {}) is None
    again = errors.rebuild(
        "budget_exceeded",
        "m",
        errors.BudgetExceeded(scope="role", owner="developer", limit="cost", cap=5, spent=5, window="weekly").details(),
    )
    assert isinstance(again, errors.BudgetExceeded)
    assert (again.scope, again.window, again.cap, again.message) == ("role", "weekly", 5.0, "m")


async def test_a_project_without_a_repository_arrives_as_no_repository_with_its_project(target: str) -> None:
    async with channel(target, timeout=2.0) as ch:
        stub = agents_pb2_grpc.AgentRegistryStub(ch)
        with pytest.raises(errors.NoRepository) as info:
            await call(target, lambda: stub.GetAgent(agents_pb2.GetAgentRequest(agent_id="no-repo")))
    assert info.value.project_id == "proj-7" and isinstance(info.value, errors.FailedPrecondition)
    assert "project 'proj-7' has no repository" in str(info.value) and not info.value.retryable
