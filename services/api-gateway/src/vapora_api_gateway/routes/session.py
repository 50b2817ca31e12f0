"""The browser session of the web UI: the refresh token in an HttpOnly cookie, the access token
in the page's memory only (docs/ui.md, "Where the tokens live").

- ``POST /auth/session`` logs in as ``/auth/login`` does; the refresh token goes into the cookie
  ``vapora_refresh`` (HttpOnly, Secure, SameSite=Strict, Path=/api/v1/auth/session), never into
  the body, so no script on the page can read it.
- ``POST /auth/session/refresh`` rotates the cookie's token (reuse revokes its family, as
  ``/auth/refresh``) and answers a fresh access token and who it belongs to.
- ``DELETE /auth/session`` revokes the cookie's token family and clears the cookie.

The cookie is the one credential a browser sends by itself, so each of the three also needs the
header ``X-Vapora-Client: web``: a cross-site form or image cannot send a custom header, and a
cross-site script cannot either without a CORS preflight this gateway never grants. Every other
route takes only ``Authorization: Bearer``, which a browser never attaches on its own.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from vapora_api_gateway.context import RESOURCE, body, gw, json_response
from vapora_api_gateway.middleware import client_ip
from vapora_api_gateway.models import LoginIn, SessionOut
from vapora_api_gateway.params import Param
from vapora_api_gateway.routes import PREFIX, Route
from vapora_core.errors import PermissionDenied, Unauthenticated

COOKIE = "vapora_refresh"
COOKIE_PATH = PREFIX + "/auth/session"
CLIENT = Param(
    "X-Vapora-Client",
    "Must be 'web': the header a cross-site request cannot send (CSRF protection of the cookie)",
    where="header",
    enum=("web",),
)


def _from_this_app(request: web.Request) -> None:
    if CLIENT.get(request) != "web":
        raise PermissionDenied("a session request needs the header 'X-Vapora-Client: web'")


def _session(tokens: dict[str, Any], user: dict[str, Any]) -> web.Response:
    response = json_response(
        {
            "access_token": tokens["access_token"],
            "token_type": "Bearer",
            "expires_in": tokens["expires_in"],
            "user": user,
        }
    )
    response.set_cookie(
        COOKIE,
        tokens["refresh_token"],
        max_age=tokens["refresh_expires_in"],
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="Strict",
    )
    return response


def _clear(response: web.StreamResponse) -> web.StreamResponse:
    response.del_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="Strict")
    return response


async def open_session(request: web.Request) -> web.Response:
    _from_this_app(request)
    data = await body(request, LoginIn)
    out = await gw(request).accounts.login(data.email, data.password, client_ip(request))
    request[RESOURCE] = f"user:{out['user']['id']}"
    return _session(out, out["user"])


async def refresh_session(request: web.Request) -> web.Response:
    _from_this_app(request)
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise Unauthenticated("no session: sign in")
    accounts = gw(request).accounts
    out = await accounts.refresh(token)
    user = await accounts.repo.user(accounts.tokens.verify_access(out["access_token"]))
    if user is None:
        raise Unauthenticated("the session's user no longer exists; sign in")
    return _session(out, accounts.public_user(user))


async def close_session(request: web.Request) -> web.StreamResponse:
    _from_this_app(request)
    token = request.cookies.get(COOKIE, "")
    accounts = gw(request).accounts
    if token:
        try:
            claims = accounts.tokens.verify_refresh(token)
        except Unauthenticated:
            claims = None  # an expired or foreign cookie: nothing to revoke, still cleared
        if claims is not None:
            await accounts.repo.revoke_family(claims.family)
            request[RESOURCE] = f"user:{claims.user_id}"
    return _clear(web.Response(status=204))


ROUTES = (
    Route(
        "POST",
        "/auth/session",
        open_session,
        "Sign in the web UI: an access token, and the refresh token in an HttpOnly cookie",
        "auth",
        public=True,
        body=LoginIn,
        response=SessionOut,
        params=(CLIENT,),
        errors=(400, 401, 403, 429),
    ),
    Route(
        "POST",
        "/auth/session/refresh",
        refresh_session,
        "Rotate the session cookie's refresh token; a fresh access token",
        "auth",
        public=True,
        response=SessionOut,
        params=(CLIENT,),
        errors=(400, 401, 403, 429),
    ),
    Route(
        "DELETE",
        "/auth/session",
        close_session,
        "Sign out the web UI: revoke the session's refresh tokens and clear the cookie",
        "auth",
        public=True,
        status=204,
        params=(CLIENT,),
        errors=(400, 403, 429),
    ),
)
