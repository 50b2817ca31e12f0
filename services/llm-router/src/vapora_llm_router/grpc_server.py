"""The LlmRouter gRPC servicer: decode, call the service, encode. Errors map at the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_core.errors import InvalidArgument, Unavailable
from vapora_llm_router.budget import RoleState
from vapora_llm_router.providers.base import ChatTurn, ToolCall, ToolDefinition, ToolResult
from vapora_llm_router.repository import UsageRepository
from vapora_llm_router.results import Decision, Result
from vapora_llm_router.routing import RouteRequest
from vapora_llm_router.service import RouterService

SERVICE_NAME = "vapora.llm.v1.LlmRouter"


def to_call(c: llm_pb2.ToolCall) -> ToolCall:
    return ToolCall(id=c.id, name=c.name, arguments_json=c.arguments_json, error=c.error, provider_data=c.provider_data)


def from_call(c: ToolCall) -> llm_pb2.ToolCall:
    return llm_pb2.ToolCall(
        id=c.id, name=c.name, arguments_json=c.arguments_json, error=c.error, provider_data=c.provider_data
    )


def to_turn(m: llm_pb2.ChatMessage) -> ChatTurn:
    return ChatTurn(
        m.role,
        m.content,
        tool_calls=tuple(to_call(c) for c in m.tool_calls),
        tool_results=tuple(
            ToolResult(tool_call_id=r.tool_call_id, name=r.name, content=r.content, is_error=r.is_error)
            for r in m.tool_results
        ),
    )


def to_request(msg: llm_pb2.CompleteRequest) -> RouteRequest:
    return RouteRequest(
        request_id=msg.request_id,
        workspace_id=msg.workspace_id,
        task_id=msg.task_id,
        agent_id=msg.agent_id,
        role=msg.role,
        task_type=msg.task_type,
        complexity=msg.complexity,
        system=msg.system,
        messages=tuple(to_turn(m) for m in msg.messages),
        provider_override=msg.provider_override,
        model_override=msg.model_override,
        max_tokens=msg.max_tokens,
        temperature=msg.temperature,
        preferred_provider=msg.preferred_provider,
        preferred_model=msg.preferred_model,
        tools=tuple(
            ToolDefinition(name=t.name, description=t.description, parameters_json=t.parameters_json) for t in msg.tools
        ),
        task_cost_cap_cents=msg.task_cost_cap_cents,
        task_token_cap=msg.task_token_cap,
    )


def to_decision(d: Decision) -> llm_pb2.RoutingDecision:
    return llm_pb2.RoutingDecision(
        provider=d.provider,
        model=d.model,
        reasons=list(d.reasons),
        fallback_chain=list(d.fallback_chain),
        estimated_cost_cents=d.estimated_cost_cents,
    )


def to_response(r: Result) -> llm_pb2.CompleteResponse:
    return llm_pb2.CompleteResponse(
        text=r.text,
        provider=r.provider,
        model=r.model,
        input_tokens=r.input_tokens,
        output_tokens=r.output_tokens,
        cost_cents=r.cost_cents,
        latency_ms=r.latency_ms,
        finish_reason=r.finish_reason,
        decision=to_decision(r.decision),
        failed_providers=r.failed_providers,
        tool_calls=[from_call(c) for c in r.tool_calls],
        unverified=r.unverified,
    )


def to_budget(s: RoleState) -> llm_pb2.BudgetStatus:
    windows = []
    for w in s.windows:
        resets = Timestamp()
        resets.FromDatetime(w.resets_at)
        windows.append(
            llm_pb2.BudgetWindow(
                window=w.window,
                limit_cents=w.limit_cents,
                spent_cents=w.spent_cents,
                reserved_cents=w.reserved_cents,
                utilization=w.utilization,
                resets_at=resets,
            )
        )
    return llm_pb2.BudgetStatus(role=s.role, windows=windows, state=s.state)


class LlmRouterServicer(llm_pb2_grpc.LlmRouterServicer):
    """``usage``: the ledger GetSpend reads (None: the servicer of a service without a store, whose
    GetSpend is UNAVAILABLE)."""

    def __init__(self, service: RouterService, usage: UsageRepository | None = None) -> None:
        self._service = service
        self._usage = usage

    async def Complete(
        self, request: llm_pb2.CompleteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> llm_pb2.CompleteResponse:
        return to_response(await self._service.complete(to_request(request)))

    async def StreamComplete(
        self, request: llm_pb2.CompleteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[llm_pb2.StreamCompleteResponse]:
        async for item in self._service.stream(to_request(request)):
            if isinstance(item, Result):
                yield llm_pb2.StreamCompleteResponse(final=to_response(item))
            else:
                yield llm_pb2.StreamCompleteResponse(delta=item.delta)

    async def SelectProvider(
        self, request: llm_pb2.CompleteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> llm_pb2.RoutingDecision:
        return to_decision(self._service.select(to_request(request)))

    async def GetBudgetStatus(
        self, request: llm_pb2.GetBudgetStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> llm_pb2.GetBudgetStatusResponse:
        return llm_pb2.GetBudgetStatusResponse(
            budgets=[to_budget(s) for s in self._service.budget_status(request.role)]
        )

    async def GetSpend(
        self, request: llm_pb2.GetSpendRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> llm_pb2.GetSpendResponse:
        if not request.workspace_id:
            raise InvalidArgument("GetSpend needs a workspace_id: spend is read one workspace at a time")
        if self._usage is None:
            raise Unavailable("this router has no usage ledger to read spend from")
        since = request.since.ToDatetime(tzinfo=UTC) if request.HasField("since") else datetime(1970, 1, 1, tzinfo=UTC)
        rows = await self._usage.spend_of(request.workspace_id, since)
        return llm_pb2.GetSpendResponse(spend=[llm_pb2.Spend(**r) for r in rows])
