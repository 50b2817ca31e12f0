"""HTTP routes: one table (method, path, handler, Cedar action, bodies) that both the
router and the OpenAPI document are built from."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from vapora_api_gateway.context import Handler
from vapora_api_gateway.params import IntParam, Param

__all__ = ["ERRORS", "PREFIX", "UPSTREAM_ERRORS", "IntParam", "Param", "Route"]

PREFIX = "/api/v1"
ERRORS = (400, 401, 403, 404, 429)  # what any route may answer with
UPSTREAM_ERRORS = (*ERRORS, 503)  # a route answered by another service, which may be unavailable


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # below PREFIX, with {placeholders}
    handler: Handler
    summary: str
    tag: str
    action: str | None = None  # the Cedar action checked, if any
    public: bool = False  # no credentials needed
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    params: tuple[Param | IntParam, ...] = ()
    media: str = "application/json"
    errors: tuple[int, ...] = ERRORS

    @property
    def full_path(self) -> str:
        return PREFIX + self.path
