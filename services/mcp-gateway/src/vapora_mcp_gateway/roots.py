"""Work roots: the directory a ``scope = "worktree"`` server works in for one call.

The gateway is given a :class:`RootResolver`; it answers, from a call's verified job claims,
the root of that job (its worktree), or None when the job has none. The gateway's own is the
repositories work (:class:`~vapora_mcp_gateway.repos.worktrees.Worktrees`: the worktree the job
prepared); a call to a worktree server for a job with none fails with FAILED_PRECONDITION
naming the task.

A worktree server may name a ``root_argument`` (git's ``repo_path``): the gateway sets it to the
root on every call and leaves it out of the schema agents see, so a model need not know the
absolute path and cannot point the server at another repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from vapora_core.errors import FailedPrecondition, InvalidArgument
from vapora_core.jobtoken import JobClaims


class RootResolver(Protocol):
    async def root_for(self, claims: JobClaims) -> Path | None: ...


async def root_of(resolver: RootResolver, claims: JobClaims) -> Path:
    """The job's root, resolved; FailedPrecondition when it has none or it is not a directory."""
    root = await resolver.root_for(claims)
    if root is None:
        raise FailedPrecondition(
            f"no worktree for task {claims.task_id!r}: attach a repository to its project"
            f"{' ' + repr(claims.project_id) if claims.project_id else ''}"
        )
    return _directory(root, claims.task_id)


def _directory(root: Path, task_id: str) -> Path:
    resolved = root.resolve()
    if not resolved.is_dir():
        raise FailedPrecondition(f"the worktree of task {task_id!r} ({resolved}) is not a directory")
    return resolved


def bind_root_argument(arguments: dict[str, Any], name: str, root: Path, tool: str) -> dict[str, Any]:
    """``arguments`` with ``name`` set to ``root``; another value given by the caller is refused."""
    if not name:
        return arguments
    given = arguments.get(name)
    same = given in (None, "", ".", str(root)) or (isinstance(given, str) and (root / given).resolve() == root)
    if not same:
        raise InvalidArgument(
            f"arguments of {tool}: {name!r} is set by the gateway to the job's worktree; got {given!r}"
        )
    return {**arguments, name: str(root)}


def schema_without(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """A tool's input schema as agents see it: without the gateway-set argument ``name``."""
    if not name:
        return schema
    properties = schema.get("properties")
    required = schema.get("required")
    out = dict(schema)
    if isinstance(properties, dict) and name in properties:
        out["properties"] = {k: v for k, v in properties.items() if k != name}
    if isinstance(required, list) and name in required:
        out["required"] = [r for r in required if r != name]
    return out
