"""The platform as seen from a workspace: agents (agent-registry), what the swarm learned about
them (knowledge-graph), LLM budgets and the workspace's LLM spend (llm-router)."""

from __future__ import annotations

import time

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from vapora_api_gateway.context import authorize, default_workspace, gw, json_response
from vapora_api_gateway.models import AgentList, BudgetList, CurveOut, ProfileList, SpendList
from vapora_api_gateway.params import TASK_TYPE, IntParam, Param, ident
from vapora_api_gateway.routes import UPSTREAM_ERRORS, Route
from vapora_core.errors import NotFound

MAX_CURVE_DAYS = 365
# every route here answers as one of the caller's workspaces
ASKING_AS = ident("workspace_id", "Workspace you ask as; default: your first")
ROLE = Param("role", "Only agents of this role")
CAPABILITY = Param("capability", "Only agents taking this task type", pattern=TASK_TYPE)
PAGE_SIZE = IntParam("page_size", "Page size (1-500, default 100)", 1, 500, default=100)
PAGE_TOKEN = Param("page_token", "next_page_token of the previous page", max_length=256)
DAYS = IntParam("days", f"How many days back (1-{MAX_CURVE_DAYS}, default 30)", 1, MAX_CURVE_DAYS, default=30)
BUDGET_ROLE = Param("role", "Only this role")
SPEND_DAYS = IntParam("days", "How many days back (1-366, default 30)", 1, 366, default=30)


async def agents(request: web.Request) -> web.Response:
    workspace_id = default_workspace(request, ASKING_AS.get(request))
    authorize(request, "agent.read", workspace_id)
    out = await gw(request).clients.agents(
        workspace_id, ROLE.get(request), CAPABILITY.get(request), PAGE_SIZE.get(request), PAGE_TOKEN.get(request)
    )
    return json_response(out)


async def _visible_agent(request: web.Request) -> tuple[str, str]:
    """The agent of the path, if the caller may see it (a shared agent, or one private to the
    workspace asked as), and that workspace. Any other agent answers 404, exactly as an unknown one."""
    workspace_id = default_workspace(request, ASKING_AS.get(request))
    authorize(request, "agent.read", workspace_id)
    agent_id = request.match_info["agent_id"]
    try:
        owner = await gw(request).clients.agent_workspace(agent_id)
    except NotFound:
        owner = None
    if owner is None or owner not in ("", workspace_id):
        raise NotFound(f"no agent {agent_id}")
    return agent_id, workspace_id


async def profiles(request: web.Request) -> web.Response:
    """The agent's profiles from the executions of the workspace asked as, never another's."""
    agent_id, workspace_id = await _visible_agent(request)
    return json_response(await gw(request).clients.profiles(agent_id, workspace_id))


async def curve(request: web.Request) -> web.Response:
    days = DAYS.get(request)
    agent_id, workspace_id = await _visible_agent(request)
    return json_response(await gw(request).clients.curve(agent_id, request.match_info["task_type"], days, workspace_id))


async def budgets(request: web.Request) -> web.Response:
    authorize(request, "budget.read", default_workspace(request, ASKING_AS.get(request)))
    return json_response(await gw(request).clients.budgets(BUDGET_ROLE.get(request)))


async def spend(request: web.Request) -> web.Response:
    workspace_id = default_workspace(request, ASKING_AS.get(request))
    authorize(request, "budget.read", workspace_id)
    since = Timestamp(seconds=int(time.time()) - SPEND_DAYS.get(request) * 86_400)
    return json_response(await gw(request).clients.spend(workspace_id, since))


ROUTES = (
    Route(
        "GET",
        "/agents",
        agents,
        "Agents a workspace may use: the shared ones and its own private ones (from agent-registry)",
        "platform",
        action="agent.read",
        response=AgentList,
        errors=UPSTREAM_ERRORS,
        params=(ASKING_AS, ROLE, CAPABILITY, PAGE_SIZE, PAGE_TOKEN),
    ),
    Route(
        "GET",
        "/agents/{agent_id}/profiles",
        profiles,
        "What the swarm learned about an agent: its learning profile per task type (from knowledge-graph)",
        "platform",
        action="agent.read",
        response=ProfileList,
        errors=UPSTREAM_ERRORS,
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
        errors=UPSTREAM_ERRORS,
        params=(ASKING_AS, DAYS),
    ),
    Route(
        "GET",
        "/budgets",
        budgets,
        "LLM budget status per agent role (from llm-router)",
        "platform",
        action="budget.read",
        response=BudgetList,
        errors=UPSTREAM_ERRORS,
        params=(ASKING_AS, BUDGET_ROLE),
    ),
    Route(
        "GET",
        "/budgets/spend",
        spend,
        "What the workspace's LLM calls cost over the last days, per provider and model (from llm-router)",
        "platform",
        action="budget.read",
        response=SpendList,
        errors=UPSTREAM_ERRORS,
        params=(ASKING_AS, SPEND_DAYS),
    ),
)
