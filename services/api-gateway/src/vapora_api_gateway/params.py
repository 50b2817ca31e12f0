"""Query, header and path parameters: each one's OpenAPI entry and its parser, from one definition.

A handler reads a parameter through the same :class:`Param` / :class:`IntParam` its route
documents, so the limits the document states (length, pattern, enum, range) are the limits the
server enforces, with a 400 naming the parameter. Every string parameter also follows the text
rule of :mod:`vapora_api_gateway.text`. Path segments are checked once for every route, in the
request pipeline (:func:`check_path`), by :data:`PATH_PARAMS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from vapora_api_gateway import text
from vapora_core.errors import InvalidArgument

Where = Literal["query", "header", "path"]
INT64_MAX = 2**63 - 1
_INTEGER = re.compile(r"-?[0-9]+")
_DIGITS = 40  # more than any bound here has; longer runs are out of range without converting them


def _raw(request: web.Request, name: str, where: Where) -> str | None:
    if where == "query":
        return request.query.get(name)
    if where == "header":
        return request.headers.get(name)
    return request.match_info.get(name)


def _shown(value: str) -> str:
    """A value as an error message quotes it: escaped, and cut to a readable length."""
    shown = text.escape(value)
    return repr(shown if len(shown) <= 80 else shown[:80] + "…")


@dataclass(frozen=True, slots=True)
class Param:
    """A string parameter. Absent and empty both read as ``""`` (no filter), unless it has an
    enum (then empty is not one of its values) or sits in the path (never empty)."""

    name: str
    description: str
    where: Where = "query"
    max_length: int = 64
    pattern: str = ""  # the whole value must match (Python re); empty: any text within the length
    enum: tuple[str, ...] = ()

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.enum:
            schema["enum"] = list(self.enum)
        else:
            schema["maxLength"] = self.max_length
            optional = "" if self.where == "path" else "?"  # an empty query value means "not given"
            schema["pattern"] = f"^(?:{self.pattern}){optional}$" if self.pattern else text.PATTERN
        if self.where == "path":
            schema["minLength"] = 1
        return {
            "name": self.name,
            "in": self.where,
            "required": self.where == "path",
            "description": self.description,
            "schema": schema,
        }

    def check(self, value: str | None) -> str:
        """``value`` if this parameter takes it (None: absent), else :class:`InvalidArgument` naming it."""
        label = f"{self.where} parameter {self.name}"
        if value is None or (value == "" and not self.enum and self.where != "path"):
            return ""
        problem = text.flaw(value)
        if problem is not None:
            raise InvalidArgument(f"{label} {problem}")
        if self.enum:
            if value not in self.enum:
                raise InvalidArgument(f"{label} must be one of {', '.join(self.enum)}, not {_shown(value)}")
            return value
        if not value:
            raise InvalidArgument(f"{label} must not be empty")
        if len(value) > self.max_length:
            raise InvalidArgument(f"{label} is {len(value)} characters long; the limit is {self.max_length}")
        if self.pattern and re.fullmatch(self.pattern, value) is None:
            raise InvalidArgument(f"{label} must match {self.pattern}, not {_shown(value)}")
        return value

    def get(self, request: web.Request) -> str:
        return self.check(_raw(request, self.name, self.where))


@dataclass(frozen=True, slots=True)
class IntParam:
    """An integer parameter in ``[minimum, maximum]``; absent reads as ``default``."""

    name: str
    description: str
    minimum: int
    maximum: int
    default: int | None = None
    where: Where = "query"

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.default is not None:
            schema["default"] = self.default
        return {
            "name": self.name,
            "in": self.where,
            "required": False,
            "description": self.description,
            "schema": schema,
        }

    def check(self, value: str | None) -> int | None:
        if value is None:
            return None
        label = f"{self.where} parameter {self.name}"
        if _INTEGER.fullmatch(value) is None:
            raise InvalidArgument(f"{label} must be an integer, not {_shown(value)}")
        number = int(value) if len(value) <= _DIGITS else None
        if number is None or not self.minimum <= number <= self.maximum:
            raise InvalidArgument(f"{label} must be between {self.minimum} and {self.maximum}, not {_shown(value)}")
        return number

    def given(self, request: web.Request) -> int | None:
        """The value sent, or None when the parameter is absent."""
        return self.check(_raw(request, self.name, self.where))

    def get(self, request: web.Request) -> int:
        """The value sent, or the default."""
        value = self.given(request)
        if value is not None:
            return value
        if self.default is None:
            raise TypeError(f"parameter {self.name} has no default; read it with given()")
        return self.default


ID_CHARS = 64
TASK_TYPE = r"[A-Za-z0-9_-]+"


def ident(name: str, description: str, where: Where = "query") -> Param:
    """An id (of a workspace, project, task, agent, user, token): any text of up to 64 characters."""
    return Param(name, description, where, max_length=ID_CHARS)


PATH_PARAMS: dict[str, Param] = {
    name: ident(name, f"The {name.removesuffix('_id').replace('_', ' ')}'s id", "path")
    for name in ("workspace_id", "project_id", "task_id", "user_id", "token_id", "agent_id")
} | {
    "task_type": Param("task_type", "A task type", "path", max_length=64, pattern=TASK_TYPE),
    "run_id": Param("run_id", "A workflow run's id", "path", max_length=16, pattern=r"[0-9a-f]{16}"),
}


# Browsers' EventSource and WebSocket cannot set headers: the event streams take the token here too.
ACCESS_TOKEN = Param(
    "access_token", "Access token, for clients that cannot set headers", max_length=4096, pattern=r"[A-Za-z0-9._~+/=-]+"
)


def path_param(name: str) -> Param:
    return PATH_PARAMS.get(name) or ident(name, name, "path")


def check_path(request: web.Request) -> None:
    """Refuse a request whose path segments break their parameter's rule (400, naming it)."""
    for name, value in request.match_info.items():
        path_param(name).check(value)
