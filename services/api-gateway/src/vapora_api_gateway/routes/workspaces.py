"""Workspaces, their members, API tokens and audit log."""

from __future__ import annotations

from aiohttp import web

from vapora_api_gateway.context import RESOURCE, WORKSPACE, authorize, body, gw, json_response, principal
from vapora_api_gateway.models import (
    ApiTokenIn,
    ApiTokenList,
    ApiTokenOut,
    AuditPage,
    MemberIn,
    MemberList,
    MemberOut,
    RoleIn,
    WorkspaceIn,
    WorkspaceList,
    WorkspaceOut,
)
from vapora_api_gateway.params import INT64_MAX, IntParam, Param
from vapora_api_gateway.routes import Route
from vapora_core.errors import NotFound, PermissionDenied

AUDIT_LIMIT = IntParam("limit", "Page size (1-500, default 50)", 1, 500, default=50)
# An audit cursor is the time (ns) of the last entry of the previous page; every one is a position.
AUDIT_PAGE = Param("cursor", "next_cursor of the previous page", max_length=19, pattern="[0-9]{1,19}")


def _ws(request: web.Request) -> str:
    return request.match_info["workspace_id"]


async def list_workspaces(request: web.Request) -> web.Response:
    return json_response({"items": await gw(request).accounts.workspaces(principal(request))})


async def create_workspace(request: web.Request) -> web.Response:
    p = principal(request)
    data = await body(request, WorkspaceIn)
    if p.api_token_id:
        raise PermissionDenied("API tokens cannot create workspaces; log in as a person")
    ws = await gw(request).accounts.create_workspace(p.user_id, data.name)
    request[WORKSPACE] = ws["id"]
    request[RESOURCE] = f"workspace:{ws['id']}"
    return json_response({**ws, "role": "owner"}, 201)


async def get_workspace(request: web.Request) -> web.Response:
    p = authorize(request, "workspace.read", _ws(request))
    row = await gw(request).accounts.repo.workspace(_ws(request))
    if row is None:
        raise NotFound(f"no workspace {_ws(request)}")
    return json_response({**row, "role": p.role_in(_ws(request))})


async def update_workspace(request: web.Request) -> web.Response:
    p = authorize(request, "workspace.update", _ws(request))
    data = await body(request, WorkspaceIn)
    request[RESOURCE] = f"workspace:{_ws(request)}"
    row = await gw(request).accounts.repo.update_workspace(_ws(request), data.name)
    if row is None:
        raise NotFound(f"no workspace {_ws(request)}")
    return json_response({**row, "role": p.role_in(_ws(request))})


async def delete_workspace(request: web.Request) -> web.Response:
    p = authorize(request, "workspace.delete", _ws(request))
    request[RESOURCE] = f"workspace:{_ws(request)}"
    accounts = gw(request).accounts
    members = await accounts.repo.members(_ws(request))
    await accounts.repo.delete_workspace(_ws(request))
    for m in members:
        accounts.forget(str(m["user_id"]))
    accounts.forget(p.user_id)
    return web.Response(status=204)


async def list_members(request: web.Request) -> web.Response:
    authorize(request, "member.read", _ws(request))
    return json_response({"items": await gw(request).accounts.members(_ws(request))})


async def add_member(request: web.Request) -> web.Response:
    p = authorize(request, "member.add", _ws(request))
    data = await body(request, MemberIn)
    out = await gw(request).accounts.add_member(p, _ws(request), data.email, data.role)
    request[RESOURCE] = f"member:{out['user_id']}"
    return json_response(out, 201)


async def update_member(request: web.Request) -> web.Response:
    p = authorize(request, "member.update", _ws(request))
    data = await body(request, RoleIn)
    user_id = request.match_info["user_id"]
    request[RESOURCE] = f"member:{user_id}"
    return json_response(await gw(request).accounts.set_role(p, _ws(request), user_id, data.role))


async def remove_member(request: web.Request) -> web.Response:
    p = authorize(request, "member.remove", _ws(request))
    user_id = request.match_info["user_id"]
    request[RESOURCE] = f"member:{user_id}"
    await gw(request).accounts.remove_member(p, _ws(request), user_id)
    return web.Response(status=204)


async def list_tokens(request: web.Request) -> web.Response:
    authorize(request, "token.read", _ws(request))
    return json_response({"items": await gw(request).accounts.repo.api_tokens(_ws(request))})


async def create_token(request: web.Request) -> web.Response:
    p = authorize(request, "token.create", _ws(request))
    data = await body(request, ApiTokenIn)
    out = await gw(request).accounts.create_api_token(p, _ws(request), data.name, data.role)
    request[RESOURCE] = f"api_token:{out['id']}"
    return json_response(out, 201)


async def revoke_token(request: web.Request) -> web.Response:
    authorize(request, "token.revoke", _ws(request))
    token_id = request.match_info["token_id"]
    request[RESOURCE] = f"api_token:{token_id}"
    return json_response(await gw(request).accounts.revoke_api_token(_ws(request), token_id))


async def audit(request: web.Request) -> web.Response:
    authorize(request, "audit.read", _ws(request))
    limit = AUDIT_LIMIT.get(request)
    cursor = AUDIT_PAGE.get(request)
    before = min(int(cursor), INT64_MAX) if cursor else None
    await gw(request).audit.flush()  # read your own writes: entries still queued are written first
    rows = await gw(request).accounts.repo.audit(_ws(request), before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    keys = ("at", "actor", "action", "method", "path", "resource", "result", "status", "workspace_id")
    nxt = str(rows[-1]["at_ns"]) if more else None
    return json_response({"items": [{k: r.get(k) for k in keys} for r in rows], "next_cursor": nxt})


WS = "/workspaces/{workspace_id}"
ROUTES = (
    Route(
        "GET",
        "/workspaces",
        list_workspaces,
        "Workspaces you are a member of, with your role",
        "workspaces",
        action="workspace.read",
        response=WorkspaceList,
    ),
    Route(
        "POST",
        "/workspaces",
        create_workspace,
        "Create a workspace; you become its owner",
        "workspaces",
        body=WorkspaceIn,
        response=WorkspaceOut,
        status=201,
    ),
    Route("GET", WS, get_workspace, "One workspace", "workspaces", action="workspace.read", response=WorkspaceOut),
    Route(
        "PATCH",
        WS,
        update_workspace,
        "Rename a workspace",
        "workspaces",
        action="workspace.update",
        body=WorkspaceIn,
        response=WorkspaceOut,
    ),
    Route(
        "DELETE",
        WS,
        delete_workspace,
        "Delete a workspace and everything in it",
        "workspaces",
        action="workspace.delete",
        status=204,
    ),
    Route(
        "GET",
        WS + "/members",
        list_members,
        "Members and their roles",
        "members",
        action="member.read",
        response=MemberList,
    ),
    Route(
        "POST",
        WS + "/members",
        add_member,
        "Add a registered user as a member",
        "members",
        action="member.add",
        body=MemberIn,
        response=MemberOut,
        status=201,
        errors=(400, 401, 403, 404, 409, 429),
    ),
    Route(
        "PATCH",
        WS + "/members/{user_id}",
        update_member,
        "Change a member's role",
        "members",
        action="member.update",
        body=RoleIn,
        response=MemberOut,
        errors=(400, 401, 403, 404, 409, 429),
    ),
    Route(
        "DELETE",
        WS + "/members/{user_id}",
        remove_member,
        "Remove a member",
        "members",
        action="member.remove",
        status=204,
        errors=(400, 401, 403, 404, 409, 429),
    ),
    Route(
        "GET",
        WS + "/api-tokens",
        list_tokens,
        "API tokens of the workspace (secrets never shown)",
        "api-tokens",
        action="token.read",
        response=ApiTokenList,
    ),
    Route(
        "POST",
        WS + "/api-tokens",
        create_token,
        "Create a long-lived API token; the secret is shown once",
        "api-tokens",
        action="token.create",
        body=ApiTokenIn,
        response=ApiTokenOut,
        status=201,
    ),
    Route(
        "DELETE",
        WS + "/api-tokens/{token_id}",
        revoke_token,
        "Revoke an API token",
        "api-tokens",
        action="token.revoke",
        response=ApiTokenOut,
    ),
    Route(
        "GET",
        WS + "/audit",
        audit,
        "Audit log of state-changing actions, newest first",
        "audit",
        action="audit.read",
        response=AuditPage,
        params=(AUDIT_LIMIT, AUDIT_PAGE),
    ),
)
