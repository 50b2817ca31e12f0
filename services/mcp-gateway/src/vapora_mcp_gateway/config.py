"""config/mcp.toml: the MCP servers the gateway reaches, validated at load.

Every error names the file and the field. ``{python}``, ``{data_dir}``, ``{config_dir}`` and
``{tools_dir}`` in ``command``, ``args``, ``env``, ``cwd`` and ``url`` become this process's
interpreter, ``VAPORA_DATA_DIR``, ``VAPORA_CONFIG_DIR`` and ``VAPORA_MCP_TOOLS_DIR``, so a server
runs the same from any cwd. ``{root}`` is left for the gateway: a ``scope = "worktree"`` server
runs once per work root (a job's worktree), with ``{root}`` replaced by that root's path.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vapora_core.errors import ConfigError

SERVER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
ALL_WORKSPACES = "*"
ROOT = "{root}"


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    transport: Literal["stdio", "streamable-http"] = "stdio"
    enabled: bool = True
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str = ""
    url: str = ""
    timeout_s: float = Field(default=30.0, gt=0, le=3600)
    start_timeout_s: float = Field(default=30.0, gt=0, le=600)
    workspaces: tuple[str, ...] = (ALL_WORKSPACES,)
    description: str = ""
    scope: Literal["shared", "worktree"] = "shared"
    # A worktree server's argument the gateway sets to the root on every call (e.g. git's
    # repo_path); it is left out of the tool's schema as agents see it.
    root_argument: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not SERVER_NAME.match(value):
            raise ValueError("must be lowercase letters, digits, '-' or '_', starting with a letter")
        return value

    @field_validator("workspaces")
    @classmethod
    def _workspaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("must name at least one workspace, or '*' for all")
        if any(not w.strip() for w in value):
            raise ValueError("must not contain empty workspace ids")
        return value

    @model_validator(mode="after")
    def _transport_fields(self) -> ServerConfig:
        if self.transport == "stdio" and not self.command:
            raise ValueError("a stdio server needs a command")
        if self.transport == "streamable-http" and not self.url.startswith(("http://", "https://")):
            raise ValueError("a streamable-http server needs an http(s) url")
        uses_root = any(ROOT in v for v in self._launch_strings())
        if self.scope == "worktree":
            if self.transport != "stdio":
                raise ValueError("a worktree server runs over stdio (one process per root)")
            if not uses_root:
                raise ValueError("a worktree server must use {root} in its command, args, env or cwd")
        elif uses_root:
            raise ValueError('{root} is only for servers with scope = "worktree"')
        elif self.root_argument:
            raise ValueError('root_argument is only for servers with scope = "worktree"')
        return self

    def _launch_strings(self) -> list[str]:
        return [self.command, *self.args, *self.env.values(), self.cwd, self.url]

    def for_root(self, root: Path) -> ServerConfig:
        """This server's launch with ``{root}`` replaced by ``root``."""
        where = str(root)
        return self.model_copy(
            update={
                "command": self.command.replace(ROOT, where),
                "args": tuple(a.replace(ROOT, where) for a in self.args),
                "env": {k: v.replace(ROOT, where) for k, v in self.env.items()},
                "cwd": self.cwd.replace(ROOT, where),
            }
        )

    def allows(self, workspace_id: str) -> bool:
        return ALL_WORKSPACES in self.workspaces or workspace_id in self.workspaces

    def launch_key(self) -> tuple[object, ...]:
        """What a running connection depends on: when it changes, the server restarts."""
        return (
            self.transport,
            self.scope,
            self.command,
            self.args,
            tuple(sorted(self.env.items())),
            self.cwd,
            self.url,
        )


class McpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    servers: tuple[ServerConfig, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> McpConfig:
        seen: set[str] = set()
        for i, server in enumerate(self.servers):
            if server.name in seen:
                raise ValueError(f"servers[{i}].name: duplicate server name {server.name!r}")
            seen.add(server.name)
        return self

    def enabled(self) -> dict[str, ServerConfig]:
        return {s.name: s for s in self.servers if s.enabled}


def _expand(value: str, placeholders: dict[str, str]) -> str:
    for key, replacement in placeholders.items():
        value = value.replace("{" + key + "}", replacement)
    return value


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_config(
    text: str, *, source: str, data_dir: Path, config_dir: Path, tools_dir: Path | None = None
) -> McpConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source) from exc
    placeholders = {
        "python": sys.executable,
        "data_dir": str(data_dir.resolve()),
        "config_dir": str(config_dir.resolve()),
        "tools_dir": str((tools_dir or config_dir.parent / "tools").resolve()),
    }
    servers = raw.get("servers", [])
    if isinstance(servers, list):
        for server in servers:
            if not isinstance(server, dict):
                continue
            for key in ("command", "cwd", "url"):
                if isinstance(server.get(key), str):
                    server[key] = _expand(server[key], placeholders)
            if isinstance(server.get("args"), list):
                server["args"] = [_expand(a, placeholders) if isinstance(a, str) else a for a in server["args"]]
            if isinstance(server.get("env"), dict):
                server["env"] = {
                    k: _expand(v, placeholders) if isinstance(v, str) else v for k, v in server["env"].items()
                }
    try:
        return McpConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(tuple(first["loc"]))
        message = first["msg"].removeprefix("Value error, ")
        if field.startswith("servers[") and isinstance(servers, list):
            index = int(field[len("servers[") : field.index("]")])
            name = servers[index].get("name") if index < len(servers) and isinstance(servers[index], dict) else None
            if name:
                message = f"{message} (server {name!r})"
        if len(exc.errors()) > 1:
            message += f" (and {len(exc.errors()) - 1} more errors)"
        raise ConfigError(message, source=source, field=field) from exc


def load_config(path: Path, *, data_dir: Path, config_dir: Path, tools_dir: Path | None = None) -> McpConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    return parse_config(text, source=str(path), data_dir=data_dir, config_dir=config_dir, tools_dir=tools_dir)
