"""The platform as seen from a workspace: agents (agent-registry), what the swarm learned about
them (knowledge-graph) and LLM budgets (llm-router)."""

from __future__ import annotations

from aiohttp import web

from vapora_api_gateway.context import authorize, default_workspace, gw, json_response, query_int
from vapora_api_gateway.models import AgentList, BudgetList, CurveOut, ProfileList
from vapora_api_gateway.routes import Param, Route
from vapora_core.errors import InvalidArgument, NotFound

MAX_CURVE_DAYS = 365


async def agents(request: web.Request) -> web.Response:
    workspace_id = default_workspace(request, request.query.get("workspace_id", ""))
    authorize(request, "agent.read", workspace_id)
    page_size = query_int(request, "page_size", 100)
    if not 1 <= page_size <= 500:
        raise InvalidArgument(f"page_size must be between 1 and 500, not {page_size}")
    q = request.query
    out = await gw(request).clients.agents(
        workspace_id, q.get("role", ""), q.get("capability", ""), page_size, q.get("page_token", "")
    )
    return json_response(out)


async def _visible_agent(request: web.Request) -> str:
    """The agent of the path, if the caller may see it: a shared agent, or one private to the
    workspace asked as. Any other agent answers 404, exactly as an unknown one."""
    workspace_id = default_workspace(request, request.query.get("workspace_id", ""))
    authorize(request, "agent.read", workspace_id)
    agent_id = request.match_info["agent_id"]
    try:
        owner = await gw(request).clients.agent_workspace(agent_id)
    except NotFound:
        owner = None
    if owner is None or owner not in ("", workspace_id):
        raise NotFound(f"no agent {agent_id}")
    return agent_id


async def profiles(request: web.Request) -> web.Response:
    agent_id = await _visible_agent(request)
    return json_response(await gw(request).clients.profiles(agent_id))


async def curve(request: web.Request) -> web.Response:
    days = query_int(request, "days", 30)
    if not 1 <= days <= MAX_CURVE_DAYS:
        raise InvalidArgument(f"days must be between 1 and {MAX_CURVE_DAYS}, not {days}")
    agent_id = await _visible_agent(request)
    return json_response(await gw(request).clients.curve(agent_id, request.match_info["task_type"], days))


async def budgets(request: web.Request) -> web.Response:
    authorize(request, "budget.read", default_workspace(request, request.query.get("workspace_id", "")))
    return json_response(await gw(request).clients.budgets(request.query.get("role", "")))


# every route here answers as one of the caller's workspaces
ASKING_AS = Param("workspace_id", "Workspace you ask as; default: your first")
ERR = (400, 401, 403, 404, 429, 503)
ROUTES = (
    Route(
        "GET",
        "/agents",
        agents,
        "Agents a workspace may use: the shared ones and its own private ones (from agent-registry)",
        "platform",
        action="agent.read",
        response=AgentList,
        errors=ERR,
        params=(
            ASKING_AS,
            Param("role", "Only agents of this role"),
            Param("capability", "Only agents taking this task type"),
            Param("page_size", "Page size (1-500)", "integer", minimum=1, maximum=500),
            Param("page_token", "next_page_token of the previous page"),
        ),
    ),
    Route(
        "GET",
        "/agents/{agent_id}/profiles",
        profiles,
        "What the swarm learned about an agent: its learning profile per task type (from knowledge-graph)",
        "platform",
        action="agent.read",
        response=ProfileList,
        errors=ERR,
        params=(ASKING_AS,),
    ),
    Route(
        "GET",
        "/agents/{agent_id}/profiles/{task_type}/curve",
        curve,
        "An agent's daily learning curve for one task type (from knowledge-graph)",
        "platform",
        action="agent.read",
        response=CurveOut,
        errors=ERR,
        params=(
            ASKING_AS,
            Param("days", "How many days back (1-365, default 30)", "integer", minimum=1, maximum=MAX_CURVE_DAYS),
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
        params=(ASKING_AS, Param("role", "Only this role")),
    ),
)
