"""The platform as seen from a workspace: agents (agent-registry) and LLM budgets (llm-router)."""

from __future__ import annotations

from aiohttp import web

from vapora_api_gateway.context import authorize, default_workspace, gw, json_response, query_int
from vapora_api_gateway.models import AgentList, BudgetList
from vapora_api_gateway.routes import Param, Route
from vapora_core.errors import InvalidArgument


async def agents(request: web.Request) -> web.Response:
    authorize(request, "agent.read", default_workspace(request, request.query.get("workspace_id", "")))
    page_size = query_int(request, "page_size", 100)
    if not 1 <= page_size <= 500:
        raise InvalidArgument(f"page_size must be between 1 and 500, not {page_size}")
    q = request.query
    out = await gw(request).clients.agents(
        q.get("role", ""), q.get("capability", ""), page_size, q.get("page_token", "")
    )
    return json_response(out)


async def budgets(request: web.Request) -> web.Response:
    authorize(request, "budget.read", default_workspace(request, request.query.get("workspace_id", "")))
    return json_response(await gw(request).clients.budgets(request.query.get("role", "")))


ERR = (400, 401, 403, 404, 429, 503)
ROUTES = (
    Route(
        "GET",
        "/agents",
        agents,
        "Agents of the swarm (from agent-registry)",
        "platform",
        action="agent.read",
        response=AgentList,
        errors=ERR,
        params=(
            Param("workspace_id", "Workspace you ask as; default: your first"),
            Param("role", "Only agents of this role"),
            Param("capability", "Only agents taking this task type"),
            Param("page_size", "Page size (1-500)", "integer", minimum=1, maximum=500),
            Param("page_token", "next_page_token of the previous page"),
        ),
    ),
    Route(
        "GET",
        "/budgets",
        budgets,
        "LLM budget status per agent role (from llm-router)",
        "platform",
        action="budget.read",
        response=BudgetList,
        errors=ERR,
        params=(Param("workspace_id", "Workspace you ask as; default: your first"), Param("role", "Only this role")),
    ),
)
