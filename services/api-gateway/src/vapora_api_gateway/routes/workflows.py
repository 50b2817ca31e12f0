"""Workflows: templates (``/workflows``) and runs (``/workflow-runs``), read and driven through the
swarm-coordinator, which owns them (``workflow_client.py``).

A run named in the path is looked for among the caller's workspaces; one in another workspace is
404, as one that does not exist. The action is then checked in the run's workspace, and a gate's
decision carries the caller's role there (the coordinator requires it to be one of the gate's
approvers). Cedar actions: ``workflow.read`` (viewers), ``workflow.create``, ``run.start``,
``run.cancel``, ``run.pause`` (members), ``run.approve`` (admins and owners).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vapora_api_gateway.context import RESOURCE, authorize, body, default_workspace, gw, json_response, principal
from vapora_api_gateway.params import IntParam, Param, ident
from vapora_api_gateway.routes import UPSTREAM_ERRORS, Route
from vapora_api_gateway.security import new_id
from vapora_api_gateway.workflow_models import (
    GateCommand,
    GateIn,
    RejectIn,
    RunControlIn,
    RunIn,
    RunOut,
    RunPage,
    WorkflowIn,
    WorkflowList,
    WorkflowOut,
)
from vapora_core.errors import InvalidArgument, NotFound

WORKSPACE = ident("workspace_id", "Workspace; default: your first")
STATE = Param(
    "state",
    "Only runs in this state",
    enum=("running", "waiting_approval", "paused", "succeeded", "failed", "cancelled"),
)
LIMIT = IntParam("limit", "Page size (1-100, default 20)", 1, 100, default=20)
CURSOR = Param("cursor", "next_cursor of the previous page", max_length=36, pattern=r"[0-9]{1,19}:[0-9a-f]{16}")
ERR = (400, 401, 403, 404, 409, 429, 503)


async def list_workflows(request: web.Request) -> web.Response:
    ws = default_workspace(request, WORKSPACE.get(request))
    authorize(request, "workflow.read", ws)
    return json_response(await gw(request).clients.workflows.templates(ws))


async def create_workflow(request: web.Request) -> web.Response:
    data = await body(request, WorkflowIn)
    ws = default_workspace(request, data.workspace_id)
    p = authorize(request, "workflow.create", ws)
    request[RESOURCE] = f"workflow:{data.name}"
    return json_response(await gw(request).clients.workflows.create_template(ws, data, p.label), 201)


async def start_run(request: web.Request) -> web.Response:
    data = await body(request, RunIn)
    ws = default_workspace(request, data.workspace_id)
    p = authorize(request, "run.start", ws)
    if data.project_id and await gw(request).tasks.repo.project([ws], data.project_id) is None:
        raise NotFound(f"project_id {data.project_id}: no such project in this workspace")
    run_id = new_id()[:16]  # the gateway's id for the run: a retried call is the same run
    request[RESOURCE] = f"workflow-run:{run_id}"
    return json_response(await gw(request).clients.workflows.start(ws, data, p.label, run_id), 201)


async def list_runs(request: web.Request) -> web.Response:
    ws = default_workspace(request, WORKSPACE.get(request))
    authorize(request, "workflow.read", ws)
    page = await gw(request).clients.workflows.page(ws, STATE.get(request), CURSOR.get(request), LIMIT.get(request))
    return json_response(page)


async def _run(request: web.Request, action: str, run_id: str = "") -> dict[str, Any]:
    """The run named in the path (or ``run_id``), if it is in one of the caller's workspaces;
    ``action`` checked there."""
    run_id = run_id or request.match_info["run_id"]
    request[RESOURCE] = f"workflow-run:{run_id}"
    workspaces = principal(request).workspace_ids
    if not workspaces:
        raise NotFound(f"no workflow run {run_id}")
    run = await gw(request).clients.workflows.get(workspaces, run_id)
    authorize(request, action, str(run["workspace_id"]), missing=f"no workflow run {run_id}")
    return run


async def get_run(request: web.Request) -> web.Response:
    return json_response(await _run(request, "workflow.read"))


async def approve(request: web.Request) -> web.Response:
    return await _decide(request, True)


async def reject(request: web.Request) -> web.Response:
    return await _decide(request, False)


async def _decide(request: web.Request, approving: bool) -> web.Response:
    run = await _run(request, "run.approve")
    data: GateIn | RejectIn = await body(request, GateIn if approving else RejectIn)
    return json_response(await decide_gate(request, run, approving, data.stage_id, data.comment))


async def decide_gate(
    request: web.Request, run: dict[str, Any], approving: bool, stage_id: str, comment: str
) -> dict[str, Any]:
    """Approve or reject a gate of ``run`` (found and ``run.approve`` checked) as the caller, with
    the caller's role in the run's workspace; the run as it is after. REST and the WebSocket's
    gate commands (``routes/events.py``) both decide through here."""
    p = principal(request)
    ws = str(run["workspace_id"])
    return await gw(request).clients.workflows.decide(
        approve=approving,
        workspace_id=ws,
        run_id=str(run["id"]),
        gate=stage_id,
        actor=p.label,
        role=p.role_in(ws) or "",
        comment=comment,
    )


async def gate_command(request: web.Request, workspace_id: str, command: GateCommand) -> dict[str, Any]:
    """A gate decision sent on a workspace's WebSocket: the run must be in that workspace."""
    run = await _run(request, "run.approve", command.run_id)
    if run["workspace_id"] != workspace_id:
        raise NotFound(f"no workflow run {command.run_id}")
    if command.type == "reject" and not command.comment:
        raise InvalidArgument("a rejection needs a comment: it is what the stage sent back receives")
    return await decide_gate(request, run, command.type == "approve", command.stage_id, command.comment)


async def cancel(request: web.Request) -> web.Response:
    return await _control(request, "cancel", "run.cancel")


async def pause(request: web.Request) -> web.Response:
    return await _control(request, "pause", "run.pause")


async def resume(request: web.Request) -> web.Response:
    return await _control(request, "resume", "run.pause")


async def _control(request: web.Request, what: str, action: str) -> web.Response:
    run = await _run(request, action)
    data = await body(request, RunControlIn)
    out = await gw(request).clients.workflows.control(
        what, str(run["workspace_id"]), str(run["id"]), principal(request).label, data.reason
    )
    return json_response(out)


RUN = "/workflow-runs/{run_id}"
ROUTES = (
    Route(
        "GET",
        "/workflows",
        list_workflows,
        "Workflow templates of a workspace: the shared ones and its own",
        "workflows",
        action="workflow.read",
        response=WorkflowList,
        params=(WORKSPACE,),
        errors=UPSTREAM_ERRORS,
    ),
    Route(
        "POST",
        "/workflows",
        create_workflow,
        "Make a workflow template of the workspace (checked in full: graph, task types, roles)",
        "workflows",
        action="workflow.create",
        body=WorkflowIn,
        response=WorkflowOut,
        status=201,
        errors=(*ERR, 413),
    ),
    Route(
        "POST",
        "/workflow-runs",
        start_run,
        "Start a run of a workflow: its first stages' tasks are submitted at once",
        "workflows",
        action="run.start",
        body=RunIn,
        response=RunOut,
        status=201,
        errors=(*ERR, 413),
    ),
    Route(
        "GET",
        "/workflow-runs",
        list_runs,
        "Workflow runs of a workspace, newest first, cursor-paginated",
        "workflows",
        action="workflow.read",
        response=RunPage,
        params=(WORKSPACE, STATE, LIMIT, CURSOR),
        errors=UPSTREAM_ERRORS,
    ),
    Route(
        "GET",
        RUN,
        get_run,
        "One run: each stage's state, task, agent, attempts, outcome and cost",
        "workflows",
        action="workflow.read",
        response=RunOut,
        errors=UPSTREAM_ERRORS,
    ),
    Route(
        "POST",
        RUN + "/approve",
        approve,
        "Approve the gate waiting (or the one named): the stages after it start",
        "workflows",
        action="run.approve",
        body=GateIn,
        response=RunOut,
        errors=ERR,
    ),
    Route(
        "POST",
        RUN + "/reject",
        reject,
        "Reject a gate with a comment: the run goes back to the gate's on_reject stage with it",
        "workflows",
        action="run.approve",
        body=RejectIn,
        response=RunOut,
        errors=ERR,
    ),
    Route(
        "POST",
        RUN + "/cancel",
        cancel,
        "Cancel a run: its running stages' tasks are cancelled",
        "workflows",
        action="run.cancel",
        body=RunControlIn,
        response=RunOut,
        errors=ERR,
    ),
    Route(
        "POST",
        RUN + "/pause",
        pause,
        "Pause a run: no new stage starts; running ones go on",
        "workflows",
        action="run.pause",
        body=RunControlIn,
        response=RunOut,
        errors=ERR,
    ),
    Route(
        "POST",
        RUN + "/resume",
        resume,
        "Resume a paused run: the stages that became ready start",
        "workflows",
        action="run.pause",
        body=RunControlIn,
        response=RunOut,
        errors=ERR,
    ),
)
