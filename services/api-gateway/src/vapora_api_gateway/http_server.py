"""aiohttp's own answers to requests it cannot read, as problem+json, logged in one line.

A request aiohttp's parser refuses (a request line or header over the limits below, a malformed
request line or header) never reaches the application or its middlewares: aiohttp answers it
itself, in text/plain, and logs a traceback at ERROR for each one. aiohttp has no public hook for
that answer (aio-libs/aiohttp#3287), so this module is the one adapter that changes it:

- :class:`ProblemRequestHandler` overrides ``RequestHandler.handle_error`` (public API) to answer
  ``application/problem+json`` and log one line (a traceback only for a 500, which is ours);
- :class:`GatewayRunner` is an ``AppRunner`` whose server builds those handlers. It overrides
  ``AppRunner._make_server``, aiohttp's one private hook used here, on the versions listed in
  :data:`VERIFIED`; on any other version it logs a warning once and keeps aiohttp's own server
  (``test_http_server.py`` fails loudly on an upgrade, naming what to check).

The limits are sized so that every request the OpenAPI document allows fits in them (a test adds
up the longest request line each route can have).
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_log import AccessLogger

from vapora_api_gateway.problems import problem
from vapora_api_gateway.text import escape

log = logging.getLogger("vapora.gateway.http")

VERIFIED = ("3.14.",)  # aiohttp versions whose AppRunner._make_server / Server this was checked against
MAX_REQUEST_LINE = 16 * 1024  # bytes: method, path and query, percent-encoded
MAX_HEADER = 8 * 1024  # bytes of one header line
MAX_HEADERS = 100


def _detail(status: int, exc: BaseException | None, message: str | None) -> str:
    if isinstance(exc, LineTooLong):
        return (
            f"the request line or a header is too long: at most {MAX_REQUEST_LINE} bytes for the request line "
            f"and {MAX_HEADER} for each header"
        )
    said = (exc.message if isinstance(exc, HttpProcessingError) else "") or message or ""
    said = escape(said.strip().splitlines()[0] if said.strip() else HTTPStatus(status).phrase)
    return f"the request is not valid HTTP: {said[:200]}"


class ProblemRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, answering what it cannot parse with a problem."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:  # the answer has begun: all that is left is to drop the connection
            raise ConnectionError("the response was already being sent; the connection is closed")
        if status >= 500:
            log.error("error handling a request from %s", request.remote, exc_info=exc)
            detail = "internal error; the request was logged"
        else:
            detail = _detail(status, exc, message)
            log.info("refused a request from %s: %d %s", request.remote, status, detail)
        response = problem(status, detail)
        response.force_close()
        return response


class _ProblemServer(web.Server):
    """aiohttp's low-level server, making :class:`ProblemRequestHandler` connections."""

    def __init__(self, base: web.Server, handler_args: dict[str, Any]) -> None:
        super().__init__(
            base.request_handler,
            request_factory=base.request_factory,
            handler_cancellation=base.handler_cancellation,
            **handler_args,
        )
        self._handler_args = handler_args
        self._handler_loop = asyncio.get_running_loop()

    def __call__(self) -> web.RequestHandler:
        return ProblemRequestHandler(self, loop=self._handler_loop, **self._handler_args)


def _verified() -> bool:
    return aiohttp.__version__.startswith(VERIFIED)


class GatewayRunner(web.AppRunner):
    """An AppRunner with the limits above, whose connections answer parse errors as problems."""

    def __init__(self, app: web.Application, *, shutdown_timeout: float) -> None:
        self._handler_args: dict[str, Any] = {
            "access_log": None,
            "access_log_class": AccessLogger,
            "max_line_size": MAX_REQUEST_LINE,
            "max_field_size": MAX_HEADER,
            "max_headers": MAX_HEADERS,
        }
        super().__init__(app, shutdown_timeout=shutdown_timeout, **self._handler_args)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        if not _verified():
            log.warning(
                "aiohttp %s is not one this gateway's error answers were checked with (%s): "
                "requests aiohttp cannot parse get its plain-text answer",
                aiohttp.__version__,
                ", ".join(VERIFIED),
            )
            return server
        return _ProblemServer(server, self._handler_args)
