"""What every request handler shares: the gateway's services, and helpers to authorize and parse."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from vapora_api_gateway import json_body, text
from vapora_api_gateway.accounts import Accounts, Principal
from vapora_api_gateway.audit import AuditLog
from vapora_api_gateway.clients import Clients
from vapora_api_gateway.policy import Authorizer
from vapora_api_gateway.ratelimit import RateLimiter
from vapora_api_gateway.realtime import EventSource
from vapora_api_gateway.service import Tasks
from vapora_api_gateway.task_types import TaskTypeCheck
from vapora_core.errors import InvalidArgument, NotFound, Unauthenticated

B = TypeVar("B", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Gateway:
    accounts: Accounts
    tasks: Tasks
    authorizer: Authorizer
    clients: Clients
    task_types: TaskTypeCheck
    audit: AuditLog
    events: EventSource
    user_limiter: RateLimiter
    ip_limiter: RateLimiter


GATEWAY = web.AppKey("gateway", Gateway)
PRINCIPAL = web.RequestKey("principal", Principal)
WORKSPACE = web.RequestKey("workspace_id", str)
ACTION = web.RequestKey("action", str)
RESOURCE = web.RequestKey("resource", str)


def gw(request: web.Request) -> Gateway:
    return request.app[GATEWAY]


def principal(request: web.Request) -> Principal:
    if PRINCIPAL not in request:
        raise Unauthenticated("this route needs an access token")
    return request[PRINCIPAL]


def authorize(request: web.Request, action: str, workspace_id: str, *, missing: str = "") -> Principal:
    """Check ``action`` in ``workspace_id`` for the caller.

    A workspace the caller is not a member of answers 404 (``missing`` names what was asked
    for), exactly as one that does not exist, so nothing leaks across tenants.
    """
    p = principal(request)
    request[ACTION] = action
    role = p.role_in(workspace_id)
    if role is None:
        raise NotFound(missing or f"no workspace {workspace_id}")
    request[WORKSPACE] = workspace_id
    gw(request).authorizer.check(p.user_id, action, workspace_id, role)
    return p


def default_workspace(request: web.Request, workspace_id: str) -> str:
    if workspace_id:
        return workspace_id
    p = principal(request)
    if not p.roles:
        raise NotFound("you are not a member of any workspace")
    return next(iter(p.roles))


async def body(request: web.Request, model: type[B]) -> B:
    """The request's JSON body (none: ``{}``) as ``model``; a problem names each field and the limit broken."""
    raw: Any = {}
    if request.can_read_body:
        try:
            data = await request.read()
        except ConnectionResetError:
            raise InvalidArgument("the connection closed before the whole request body arrived") from None
        if data:
            raw = json_body.decode(data)
    return validated(model, raw, "the request body")


def validated(model: type[B], raw: Any, what: str) -> B:
    """``raw`` (decoded JSON) as ``model``; a problem names ``what``, each field and the limit broken."""
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{what} must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidArgument(f"invalid {what.removeprefix('the ')}: {problems}") from None


def _where(loc: tuple[int | str, ...]) -> str:
    """A field's place in the body, as a message shows it (a key may hold any text: escaped, cut)."""
    shown = ".".join(text.escape(str(part))[:64] for part in loc)
    return shown or "body"


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type="application/json")
