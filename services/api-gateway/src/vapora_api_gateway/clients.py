"""gRPC clients of agent-registry, swarm-coordinator, llm-router, knowledge-graph and mcp-gateway
(its Repositories service), as JSON-ready dicts."""

from __future__ import annotations

import functools
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.agents.v1 import agents_pb2, agents_pb2_grpc
from vapora.coordinator.v1 import coordinator_pb2, coordinator_pb2_grpc
from vapora.kg.v1 import kg_pb2, kg_pb2_grpc
from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora.mcp.v1 import repositories_pb2, repositories_pb2_grpc
from vapora_api_gateway.evidence import fields_dict
from vapora_api_gateway.workflow_client import WorkflowClient
from vapora_core import grpc as vgrpc
from vapora_core.steps import step_content


def _iso(ts: Timestamp) -> str:
    if not ts.seconds and not ts.nanos:
        return ""
    return str(ts.ToJsonString())


def _repository(r: repositories_pb2.Repository) -> dict[str, Any]:
    return {
        "project_id": r.project_id,
        "workspace_id": r.workspace_id,
        "kind": r.kind,
        "path": r.path,
        "url": r.url,
        "default_branch": r.default_branch,
        "head": r.head,
        "test_command": r.test_command,
        "checks": dict(r.checks),
        "attached_at": _iso(r.attached_at),
        "attached_by": r.attached_by,
    }


def _step(s: kg_pb2.StepRecorded) -> dict[str, Any]:
    return {"index": s.index, "kind": s.kind, "at": _iso(s.at), **step_content(s)}


class Clients:
    def __init__(
        self,
        registry: str,
        coordinator: str,
        router: str,
        kg: str,
        *,
        mcp: str = "",
        timeout: float,
        attach_timeout: float = 150.0,
    ) -> None:
        self._attach_timeout = attach_timeout
        self.addrs = {"registry": registry, "coordinator": coordinator, "router": router, "kg": kg, "mcp": mcp}
        self._channels: list[grpc.aio.Channel] = []
        self._registry = agents_pb2_grpc.AgentRegistryStub(self._channel(registry, timeout))
        self._coordinator = coordinator_pb2_grpc.CoordinatorStub(self._channel(coordinator, timeout))
        self.workflows = WorkflowClient(self._coordinator, coordinator)
        self._router = llm_pb2_grpc.LlmRouterStub(self._channel(router, timeout))
        self._kg = kg_pb2_grpc.KnowledgeGraphStub(self._channel(kg, timeout))
        self._repos = repositories_pb2_grpc.RepositoriesStub(self._channel(mcp or "127.0.0.1:50055", timeout))

    def _channel(self, target: str, timeout: float) -> grpc.aio.Channel:
        ch = vgrpc.channel(target, timeout=timeout)
        self._channels.append(ch)
        return ch

    async def close(self) -> None:
        for ch in self._channels:
            await ch.close()

    async def agents(
        self, workspace_id: str, role: str, capability: str, page_size: int, page_token: str
    ) -> dict[str, Any]:
        """One page of the agents ``workspace_id`` may use: the shared ones and its own private ones."""
        req = agents_pb2.ListAgentsRequest(
            workspace_id=workspace_id, role=role, capability=capability, page_size=page_size, page_token=page_token
        )
        reply = await vgrpc.call(self.addrs["registry"], lambda: self._registry.ListAgents(req))
        items = [
            {
                "id": a.id,
                "role": a.role,
                "workspace_id": a.workspace_id or None,  # null: a shared agent (no workspace to name)
                "capabilities": [{"task_type": c.task_type, "proficiency": c.proficiency} for c in a.capabilities],
                "status": agents_pb2.AgentStatus.Name(a.status).removeprefix("AGENT_STATUS_").lower(),
                "current_load": a.current_load,
                "max_concurrency": a.max_concurrency,
                "preferred_provider": a.preferred_provider,
                "preferred_model": a.preferred_model,
                "last_heartbeat": _iso(a.last_heartbeat),
            }
            for a in reply.agents
        ]
        return {"items": items, "next_page_token": reply.next_page_token}

    async def takes(self, workspace_id: str, task_type: str) -> bool:
        """Whether an agent ``workspace_id`` may use takes ``task_type`` (asked once: no retries)."""
        req = agents_pb2.ListAgentsRequest(workspace_id=workspace_id, capability=task_type, page_size=1)
        reply = await vgrpc.call(self.addrs["registry"], lambda: self._registry.ListAgents(req), attempts=1)
        return bool(reply.agents)

    async def task_types(self, workspace_id: str) -> list[str]:
        """Every task type the agents ``workspace_id`` may use take, sorted."""
        types: set[str] = set()
        token = ""
        while True:
            req = agents_pb2.ListAgentsRequest(workspace_id=workspace_id, page_token=token)
            reply = await vgrpc.call(self.addrs["registry"], functools.partial(self._registry.ListAgents, req))
            types.update(c.task_type for a in reply.agents for c in a.capabilities)
            token = reply.next_page_token
            if not token:
                return sorted(types)

    async def agent_workspace(self, agent_id: str) -> str:
        """The workspace an agent is private to ('' for a shared agent); NotFound for an unknown agent."""
        req = agents_pb2.GetAgentRequest(agent_id=agent_id)
        agent = await vgrpc.call(self.addrs["registry"], lambda: self._registry.GetAgent(req))
        return str(agent.workspace_id)

    async def profiles(self, agent_id: str, workspace_id: str) -> dict[str, Any]:
        """The agent's profiles from ``workspace_id``'s executions only (never another's)."""
        req = kg_pb2.GetLearningProfilesRequest(agent_ids=[agent_id], workspace_id=workspace_id)
        reply = await vgrpc.call(self.addrs["kg"], lambda: self._kg.GetLearningProfiles(req))
        items = [
            {
                "task_type": p.task_type,
                "expertise": p.expertise,
                "confidence": p.confidence,
                "executions": p.executions,
                "successes": p.successes,
                "success_rate": p.success_rate,
                "mean_quality": p.mean_quality,
                "mean_latency_ms": p.mean_latency_ms,
                "mean_cost_cents": p.mean_cost_cents,
                "updated_at": _iso(p.updated_at),
            }
            for p in sorted(reply.profiles, key=lambda p: p.task_type)
        ]
        return {"agent_id": agent_id, "items": items}

    async def curve(self, agent_id: str, task_type: str, days: int, workspace_id: str) -> dict[str, Any]:
        req = kg_pb2.GetLearningCurveRequest(
            agent_id=agent_id, task_type=task_type, days=days, workspace_id=workspace_id
        )
        reply = await vgrpc.call(self.addrs["kg"], lambda: self._kg.GetLearningCurve(req))
        points = [fields_dict(c) for c in reply.points]
        return {"agent_id": agent_id, "task_type": task_type, "days": days, "points": points}

    async def explain(self, task_id: str, workspace_id: str) -> dict[str, Any]:
        req = coordinator_pb2.ExplainAssignmentRequest(task_id=task_id, workspace_id=workspace_id)
        a = await vgrpc.call(self.addrs["coordinator"], lambda: self._coordinator.ExplainAssignment(req))
        return {
            "task_id": a.task_id or task_id,
            "workspace_id": a.workspace_id or workspace_id,
            "agent_id": a.agent_id,
            "job_id": a.job_id,
            "task_type": a.task_type,
            "score": fields_dict(a.score),
            "candidates": [{"agent_id": c.agent_id, "score": fields_dict(c.score)} for c in a.candidates],
            "reason": a.reason,
            "policy": a.policy,
            "attempt": a.attempt,
            "assigned_at": _iso(a.assigned_at),
        }

    async def budgets(self, role: str) -> dict[str, Any]:
        req = llm_pb2.GetBudgetStatusRequest(role=role)
        reply = await vgrpc.call(self.addrs["router"], lambda: self._router.GetBudgetStatus(req))
        return {
            "items": [
                {
                    "role": b.role,
                    "state": b.state,
                    "windows": [
                        {
                            "window": w.window,
                            "limit_cents": w.limit_cents,
                            "spent_cents": w.spent_cents,
                            "reserved_cents": w.reserved_cents,
                            "utilization": w.utilization,
                            "resets_at": _iso(w.resets_at),
                        }
                        for w in b.windows
                    ],
                }
                for b in reply.budgets
            ]
        }

    async def attach_repository(
        self, workspace_id: str, project_id: str, fields: dict[str, Any], *, actor: str
    ) -> dict[str, Any]:
        """Attach (or re-attach) the project's repository; a remote is cloned meanwhile."""
        timeout = self._attach_timeout
        req = repositories_pb2.AttachRepositoryRequest(
            workspace_id=workspace_id, project_id=project_id, actor=actor, **fields
        )
        reply = await vgrpc.call(
            self.addrs["mcp"], lambda: self._repos.AttachRepository(req, timeout=timeout), attempts=1
        )
        return _repository(reply)

    async def repository(self, workspace_id: str, project_id: str) -> dict[str, Any]:
        req = repositories_pb2.GetRepositoryRequest(workspace_id=workspace_id, project_id=project_id)
        return _repository(await vgrpc.call(self.addrs["mcp"], lambda: self._repos.GetRepository(req)))

    async def diff(self, workspace_id: str, task_id: str) -> tuple[str, dict[str, Any], bool]:
        """The unified diff of the task's commit, its artifacts, and whether the diff was cut."""
        req = repositories_pb2.GetDiffRequest(workspace_id=workspace_id, task_id=task_id)
        reply = await vgrpc.call(self.addrs["mcp"], lambda: self._repos.GetDiff(req))
        return reply.text, fields_dict(reply.artifacts), reply.truncated

    async def steps(self, workspace_id: str, task_id: str, page_token: str, page_size: int) -> dict[str, Any]:
        """One page of the task's transcript (its final execution's run, or the run going on)."""
        req = kg_pb2.GetStepsRequest(
            workspace_id=workspace_id, task_id=task_id, page_token=page_token, page_size=page_size
        )
        reply = await vgrpc.call(self.addrs["kg"], lambda: self._kg.GetSteps(req))
        e = reply.execution
        summary = (
            {
                "stop_reason": e.stop_reason,
                "steps": e.steps,
                "tool_calls": e.tool_calls,
                "success": e.success,
                "verified": e.verified,
                "cost_cents": e.cost_cents,
                "error": e.error,
            }
            if reply.HasField("execution")
            else None
        )
        return {
            "task_id": task_id,
            "execution_id": reply.execution_id,
            "run_id": reply.run_id,
            "items": [_step(s) for s in reply.steps],
            "next_page_token": reply.next_page_token,
            "summary": summary,
            "execution_cost_cents": reply.execution_cost_cents,
            "task_cost_cents": reply.task_cost_cents,
        }

    async def spend(self, workspace_id: str, since: Timestamp) -> dict[str, Any]:
        """What a workspace's LLM calls cost since ``since``, per provider and model (llm-router)."""
        req = llm_pb2.GetSpendRequest(workspace_id=workspace_id, since=since)
        reply = await vgrpc.call(self.addrs["router"], lambda: self._router.GetSpend(req))
        return {
            "workspace_id": workspace_id,
            "since": _iso(since),
            "items": [
                {
                    "provider": s.provider,
                    "model": s.model,
                    "calls": s.calls,
                    "input_tokens": s.input_tokens,
                    "output_tokens": s.output_tokens,
                    "cost_cents": s.cost_cents,
                }
                for s in reply.spend
            ],
        }
