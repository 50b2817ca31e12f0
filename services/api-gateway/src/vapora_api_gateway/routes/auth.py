"""Registration, login and refresh-token rotation."""

from __future__ import annotations

from aiohttp import web

from vapora_api_gateway.context import RESOURCE, WORKSPACE, body, gw, json_response
from vapora_api_gateway.middleware import client_ip
from vapora_api_gateway.models import LoginIn, LoginOut, RefreshIn, RegisterIn, RegisterOut, TokensOut
from vapora_api_gateway.routes import Route


async def register(request: web.Request) -> web.Response:
    data = await body(request, RegisterIn)
    out = await gw(request).accounts.register(data.email, data.password, data.display_name)
    request[WORKSPACE] = out["workspace"]["id"]
    request[RESOURCE] = f"user:{out['user']['id']}"
    return json_response(out, 201)


async def login(request: web.Request) -> web.Response:
    data = await body(request, LoginIn)
    out = await gw(request).accounts.login(data.email, data.password, client_ip(request))
    request[RESOURCE] = f"user:{out['user']['id']}"
    return json_response(out)


async def refresh(request: web.Request) -> web.Response:
    data = await body(request, RefreshIn)
    return json_response(await gw(request).accounts.refresh(data.refresh_token))


ROUTES = (
    Route(
        "POST",
        "/auth/register",
        register,
        "Create an account and its personal workspace",
        "auth",
        public=True,
        body=RegisterIn,
        response=RegisterOut,
        status=201,
        errors=(400, 409, 429),
    ),
    Route(
        "POST",
        "/auth/login",
        login,
        "Log in with email and password",
        "auth",
        public=True,
        body=LoginIn,
        response=LoginOut,
        errors=(400, 401, 429),
    ),
    Route(
        "POST",
        "/auth/refresh",
        refresh,
        "Rotate a refresh token; a reused one revokes its family",
        "auth",
        public=True,
        body=RefreshIn,
        response=TokensOut,
        errors=(400, 401, 429),
    ),
)
