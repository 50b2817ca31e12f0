"""``[[servers]]`` tables of an mcp-gateway's ``mcp.toml``, for the servers its package ships as the
tests launch them. ``{python}``, ``{data_dir}`` and ``{root}`` stay as they are: the gateway fills them.

A config is its tables one after another: ``workspace() + sysinfo(timeout_s=1)``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

SYSINFO_ARGS = ("-m", "vapora_mcp_gateway.servers.sysinfo")
WORKSPACE_ARGS = ("-m", "vapora_mcp_gateway.servers.workspace", "--root", "{data_dir}/workspace")


def server(
    name: str,
    args: Sequence[str],
    *,
    command: str = "{python}",
    timeout_s: float | None = None,
    workspaces: Sequence[str] = (),
) -> str:
    """One ``[[servers]]`` table of a stdio server; ``timeout_s`` and ``workspaces`` only when given."""
    lines = [
        "[[servers]]",
        f"name = {json.dumps(name)}",
        f"command = {json.dumps(command)}",
        f"args = {json.dumps(list(args))}",
    ]
    if timeout_s is not None:
        lines.append(f"timeout_s = {timeout_s}")
    if workspaces:
        lines.append(f"workspaces = {json.dumps(list(workspaces))}")
    return "\n".join(lines) + "\n\n"


def sysinfo(name: str = "sysinfo", *, timeout_s: float | None = None, workspaces: Sequence[str] = ()) -> str:
    """The shipped sysinfo server (``vapora_mcp_gateway.servers.sysinfo``), under ``name``."""
    return server(name, SYSINFO_ARGS, timeout_s=timeout_s, workspaces=workspaces)


def workspace(*, timeout_s: float | None = None) -> str:
    """The shipped workspace server, rooted at ``{data_dir}/workspace``."""
    return server("workspace", WORKSPACE_ARGS, timeout_s=timeout_s)
