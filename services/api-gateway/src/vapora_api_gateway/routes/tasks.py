"""Tasks: submit, list, read, cancel, manual status, feedback, assignment explanation, steps, diff."""

from __future__ import annotations

from aiohttp import web

from vapora_api_gateway.context import (
    RESOURCE,
    authorize,
    body,
    default_workspace,
    gw,
    json_response,
    principal,
)
from vapora_api_gateway.models import (
    AssignmentOut,
    CancelIn,
    FeedbackIn,
    FeedbackOut,
    StatusIn,
    TaskIn,
    TaskOut,
    TaskPage,
)
from vapora_api_gateway.params import TASK_TYPE, IntParam, Param, ident
from vapora_api_gateway.repository import Row
from vapora_api_gateway.routes import UPSTREAM_ERRORS, Route
from vapora_api_gateway.service import CURSOR, MAX_PAGE, PRIORITIES, public_task
from vapora_api_gateway.states import RANK
from vapora_api_gateway.step_models import StepsPage
from vapora_core.errors import FailedPrecondition

WORKSPACE = ident("workspace_id", "Workspace; default: your first")
FILTERS = (
    Param("state", "Only tasks in this state", enum=tuple(RANK)),
    Param("task_type", "Only tasks of this type", pattern=TASK_TYPE),
    Param("priority", "Only tasks of this priority", enum=tuple(PRIORITIES)),
    ident("project_id", "Only tasks of this project"),
    ident("agent_id", "Only tasks assigned to this agent"),
)
LIMIT = IntParam("limit", f"Page size (1-{MAX_PAGE}, default 20)", 1, MAX_PAGE, default=20)
PAGE = Param("cursor", "next_cursor of the previous page", max_length=64, pattern=CURSOR)
STEPS_SIZE = IntParam("page_size", "Steps per page (1-1000, default 100)", 1, 1000, default=100)
STEPS_TOKEN = Param("page_token", "next_page_token of the previous page", max_length=256, pattern=r"[A-Za-z0-9_-]+")


async def _task(request: web.Request, action: str) -> Row:
    """The task named in the path, if it lives in one of the caller's workspaces; then ``action`` is checked."""
    task_id = request.match_info["task_id"]
    request[RESOURCE] = f"task:{task_id}"
    task = await gw(request).tasks.get(principal(request).workspace_ids, task_id)
    authorize(request, action, str(task["workspace_id"]), missing=f"no task {task_id}")
    return task


async def create_task(request: web.Request) -> web.Response:
    data = await body(request, TaskIn)
    ws = default_workspace(request, data.workspace_id)
    p = authorize(request, "task.create", ws)
    if data.task_type:
        await gw(request).task_types.check(ws, data.task_type)
    out = await gw(request).tasks.create(ws, p.user_id, data)
    request[RESOURCE] = f"task:{out['id']}"
    return json_response(out, 201)


async def list_tasks(request: web.Request) -> web.Response:
    ws = default_workspace(request, WORKSPACE.get(request))
    authorize(request, "task.read", ws)
    filters = {p.name: value for p in FILTERS if (value := p.get(request))}
    page = await gw(request).tasks.page(ws, filters, PAGE.get(request), LIMIT.get(request))
    return json_response(page)


async def get_task(request: web.Request) -> web.Response:
    return json_response(public_task(await _task(request, "task.read")))


async def cancel_task(request: web.Request) -> web.Response:
    task = await _task(request, "task.cancel")
    data = await body(request, CancelIn)
    out = await gw(request).tasks.cancel(task, principal(request).label, data.reason)
    return json_response(public_task(out))


async def set_status(request: web.Request) -> web.Response:
    task = await _task(request, "task.update_status")
    data = await body(request, StatusIn)
    out = await gw(request).tasks.set_status(task, principal(request).label, data.state, data.detail)
    return json_response(public_task(out))


async def feedback(request: web.Request) -> web.Response:
    task = await _task(request, "task.feedback")
    data = await body(request, FeedbackIn)
    out = await gw(request).tasks.feedback(task, principal(request).label, data.success, data.quality, data.comment)
    return json_response(out, 202)


async def assignment(request: web.Request) -> web.Response:
    task = await _task(request, "assignment.read")
    if task["state"] == "submitted":  # the task is there; its state does not allow this yet (as feedback)
        raise FailedPrecondition(f"task {task['id']} has not been assigned yet")
    return json_response(await gw(request).clients.explain(str(task["id"]), str(task["workspace_id"])))


async def steps(request: web.Request) -> web.Response:
    task = await _task(request, "task.read")
    out = await gw(request).clients.steps(
        str(task["workspace_id"]), str(task["id"]), STEPS_TOKEN.get(request), STEPS_SIZE.get(request)
    )
    return json_response(out)


DIFF = "text/x-diff"


async def diff(request: web.Request) -> web.Response:
    """The unified diff of the task's commit (text/x-diff); what it changed is in the headers."""
    task = await _task(request, "task.read")
    text, artifacts, truncated = await gw(request).clients.diff(str(task["workspace_id"]), str(task["id"]))
    headers = {
        "X-Vapora-Commit": artifacts["commit"],
        "X-Vapora-Base": artifacts["base"],
        "X-Vapora-Branch": artifacts["branch"],
        "X-Vapora-Files-Changed": str(len(artifacts["files_changed"])),
        "X-Vapora-Insertions": str(artifacts["insertions"]),
        "X-Vapora-Deletions": str(artifacts["deletions"]),
        "X-Vapora-Truncated": "true" if truncated else "false",
    }
    return web.Response(text=text, content_type=DIFF, charset="utf-8", headers=headers)


TASK = "/tasks/{task_id}"
ERR = (400, 401, 403, 404, 409, 429)
ROUTES = (
    Route(
        "POST",
        "/tasks",
        create_task,
        "Submit a task",
        "tasks",
        action="task.create",
        body=TaskIn,
        response=TaskOut,
        status=201,
        errors=(400, 401, 403, 404, 409, 413, 429, 503),
    ),
    Route(
        "GET",
        "/tasks",
        list_tasks,
        "Tasks of a workspace, newest first, filtered, cursor-paginated",
        "tasks",
        action="task.read",
        response=TaskPage,
        params=(WORKSPACE, *FILTERS, LIMIT, PAGE),
    ),
    Route("GET", TASK, get_task, "One task with its history", "tasks", action="task.read", response=TaskOut),
    Route(
        "POST",
        TASK + "/cancel",
        cancel_task,
        "Cancel a task that has not finished",
        "tasks",
        action="task.cancel",
        body=CancelIn,
        response=TaskOut,
        errors=ERR,
    ),
    Route(
        "POST",
        TASK + "/status",
        set_status,
        "Set a task's status by hand (admins)",
        "tasks",
        action="task.update_status",
        body=StatusIn,
        response=TaskOut,
        errors=ERR,
    ),
    Route(
        "POST",
        TASK + "/feedback",
        feedback,
        "Correct the outcome of a task's execution",
        "tasks",
        action="task.feedback",
        body=FeedbackIn,
        response=FeedbackOut,
        status=202,
        errors=ERR,
    ),
    Route(
        "GET",
        TASK + "/steps",
        steps,
        "The task's transcript: every step of its final run (or of the run going on), paged",
        "tasks",
        action="task.read",
        response=StepsPage,
        params=(STEPS_SIZE, STEPS_TOKEN),
        errors=UPSTREAM_ERRORS,
    ),
    Route(
        "GET",
        TASK + "/assignment",
        assignment,
        "Why this agent: the assignment's score breakdown",
        "tasks",
        action="assignment.read",
        response=AssignmentOut,
        errors=(400, 401, 403, 404, 409, 429, 503),
    ),
    Route(
        "GET",
        TASK + "/diff",
        diff,
        "The unified diff of the task's commit against its start point (empty: it changed nothing)",
        "tasks",
        action="task.read",
        media=DIFF,
        errors=UPSTREAM_ERRORS,
    ),
)
