"""Projects group tasks inside a workspace; a project may have a git repository (mcp-gateway keeps it)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vapora_api_gateway.clock import iso
from vapora_api_gateway.code_models import RepositoryIn, RepositoryOut
from vapora_api_gateway.context import RESOURCE, authorize, body, gw, json_response, principal
from vapora_api_gateway.models import ProjectIn, ProjectList, ProjectOut, ProjectPatch
from vapora_api_gateway.repository import Row
from vapora_api_gateway.routes import UPSTREAM_ERRORS, Route
from vapora_api_gateway.security import new_id
from vapora_core.errors import NotFound

KEYS = ("id", "workspace_id", "name", "description", "created_at")


def _public(row: Row) -> dict[str, Any]:
    return {k: row.get(k) or "" for k in KEYS}


async def _project(request: web.Request, action: str) -> Row:
    project_id = request.match_info["project_id"]
    request[RESOURCE] = f"project:{project_id}"
    row = await gw(request).accounts.repo.project(principal(request).workspace_ids, project_id)
    if row is None:
        raise NotFound(f"no project {project_id}")
    authorize(request, action, str(row["workspace_id"]), missing=f"no project {project_id}")
    return row


async def list_projects(request: web.Request) -> web.Response:
    ws = request.match_info["workspace_id"]
    authorize(request, "project.read", ws)
    rows = await gw(request).accounts.repo.projects(ws)
    return json_response({"items": [_public(r) for r in rows]})


async def create_project(request: web.Request) -> web.Response:
    ws = request.match_info["workspace_id"]
    p = authorize(request, "project.create", ws)
    data = await body(request, ProjectIn)
    row = {
        "id": new_id(),
        "workspace_id": ws,
        "name": data.name,
        "description": data.description,
        "created_at": iso(),
        "created_by": p.user_id,
    }
    await gw(request).accounts.repo.create_project(row)
    request[RESOURCE] = f"project:{row['id']}"
    return json_response(_public(row), 201)


async def get_project(request: web.Request) -> web.Response:
    return json_response(_public(await _project(request, "project.read")))


async def update_project(request: web.Request) -> web.Response:
    row = await _project(request, "project.update")
    data = await body(request, ProjectPatch)
    changes = data.model_dump(exclude_none=True)
    if not changes:  # nothing to change: the project as it is
        return json_response(_public(row))
    out = await gw(request).accounts.repo.update_project(str(row["workspace_id"]), str(row["id"]), changes)
    if out is None:
        raise NotFound(f"no project {row['id']}")
    return json_response(_public(out))


async def delete_project(request: web.Request) -> web.Response:
    row = await _project(request, "project.delete")
    await gw(request).accounts.repo.delete_project(str(row["workspace_id"]), str(row["id"]))
    return web.Response(status=204)


async def attach_repository(request: web.Request) -> web.Response:
    row = await _project(request, "repository.attach")
    data = (await body(request, RepositoryIn)).root
    out = await gw(request).clients.attach_repository(
        str(row["workspace_id"]), str(row["id"]), data.model_dump(), actor=principal(request).label
    )
    return json_response(out)


async def get_repository(request: web.Request) -> web.Response:
    row = await _project(request, "repository.read")
    return json_response(await gw(request).clients.repository(str(row["workspace_id"]), str(row["id"])))


PROJECT = "/projects/{project_id}"
ROUTES = (
    Route(
        "GET",
        "/workspaces/{workspace_id}/projects",
        list_projects,
        "Projects of a workspace",
        "projects",
        action="project.read",
        response=ProjectList,
    ),
    Route(
        "POST",
        "/workspaces/{workspace_id}/projects",
        create_project,
        "Create a project",
        "projects",
        action="project.create",
        body=ProjectIn,
        response=ProjectOut,
        status=201,
    ),
    Route("GET", PROJECT, get_project, "One project", "projects", action="project.read", response=ProjectOut),
    Route(
        "PATCH",
        PROJECT,
        update_project,
        "Change a project",
        "projects",
        action="project.update",
        body=ProjectPatch,
        response=ProjectOut,
    ),
    Route(
        "DELETE",
        PROJECT,
        delete_project,
        "Delete a project (its tasks stay)",
        "projects",
        action="project.delete",
        status=204,
    ),
    Route(
        "PUT",
        PROJECT + "/repository",
        attach_repository,
        "Attach the project's git repository: a local path, a bare one Vapora makes, or a remote URL (admins)",
        "projects",
        action="repository.attach",
        body=RepositoryIn,
        response=RepositoryOut,
        errors=(400, 401, 403, 404, 409, 429, 503, 504),
    ),
    Route(
        "GET",
        PROJECT + "/repository",
        get_repository,
        "The project's git repository",
        "projects",
        action="repository.read",
        response=RepositoryOut,
        errors=UPSTREAM_ERRORS,
    ),
)
