"""Agent manifests: ``config/agents/*.toml``, validated at load.

Adding an agent is a manifest change, not a code change: one TOML file per agent.
A file that does not validate raises :class:`ConfigError` naming the file and the field.
``allowed_tools`` must name tools mcp-gateway has (``server.tool``, or ``server.*`` for every
tool of a server): :func:`check_tools` holds the manifests against the gateway's catalogue.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vapora.agents.v1 import agents_pb2
from vapora.mcp.v1 import mcp_pb2
from vapora_core.errors import ConfigError

# Agent ids and task types become NATS subject tokens (jobs.<agent_id>, executions.<type>.<id>).
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class CapabilityManifest(BaseModel):
    """A task type the agent takes, with an optional proficiency hint in [0, 1]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_type: Name
    proficiency: float = Field(default=0.5, ge=0.0, le=1.0)


class LimitsManifest(BaseModel):
    """``[limits]``: what ends a job's tool loop early; each ends it with its stop reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Model turns per job (stop reason max_steps).
    max_steps: int = Field(default=30, ge=1, le=1000)
    # Seconds one run of the job may take, its calls included (stop reason wall_clock).
    max_wall_clock_s: float = Field(default=900.0, gt=0, le=86_400)
    # LLM spend and tokens of the whole task, enforced by llm-router (cost_cap, token_cap); 0: none.
    max_cost_cents: float = Field(default=500.0, ge=0)
    max_tokens_total: int = Field(default=0, ge=0)
    # The same tool with the same arguments asked for this many times is a loop (stop reason loop).
    loop_repeats: int = Field(default=3, ge=2, le=100)


class AgentManifest(BaseModel):
    """One agent: who it is, what it takes, which model it prefers, how much it does at once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Name
    role: Name
    capabilities: list[CapabilityManifest] = Field(min_length=1)
    preferred_provider: str = ""
    preferred_model: str = ""
    max_concurrency: int = Field(default=1, ge=1, le=256)
    system_prompt: str = Field(min_length=1)
    allowed_tools: list[str] = Field(default_factory=list)
    limits: LimitsManifest = Field(default_factory=LimitsManifest)
    # Empty: a shared agent that serves every workspace.
    workspace_id: str = ""
    # Where the manifest came from (set by the loader, not read from the file).
    source: str = Field(default="", exclude=True)

    @field_validator("capabilities", mode="before")
    @classmethod
    def _plain_names(cls, value: Any) -> Any:
        """``capabilities = ["coding", "review"]`` is short for tables with default proficiency."""
        if isinstance(value, list):
            return [{"task_type": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("capabilities")
    @classmethod
    def _unique_types(cls, value: list[CapabilityManifest]) -> list[CapabilityManifest]:
        seen: set[str] = set()
        for cap in value:
            if cap.task_type in seen:
                raise ValueError(f"task type {cap.task_type!r} is listed twice")
            seen.add(cap.task_type)
        return value

    @field_validator("system_prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @property
    def task_types(self) -> list[str]:
        return [c.task_type for c in self.capabilities]

    def to_agent(self, runtime_id: str) -> agents_pb2.Agent:
        """The registry's view of this agent, hosted by ``runtime_id``."""
        return agents_pb2.Agent(
            id=self.id,
            role=self.role,
            capabilities=[
                agents_pb2.Capability(task_type=c.task_type, proficiency=c.proficiency) for c in self.capabilities
            ],
            preferred_provider=self.preferred_provider,
            preferred_model=self.preferred_model,
            max_concurrency=self.max_concurrency,
            status=agents_pb2.AGENT_STATUS_HEALTHY,
            runtime_id=runtime_id,
            allowed_tools=list(self.allowed_tools),
            workspace_id=self.workspace_id,
            system_prompt=self.system_prompt,
        )


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def load_manifest(path: Path) -> AgentManifest:
    """Read and validate one manifest; errors name the file and the field."""
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=source) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc}", source=source) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source, field="(syntax)") from exc
    try:
        return AgentManifest.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{first['msg']}{more}", source=source, field=field) from exc


def load_manifests(agents_dir: Path) -> list[AgentManifest]:
    """Every ``*.toml`` in ``agents_dir``, sorted by file name; agent ids must be unique."""
    if not agents_dir.is_dir():
        raise ConfigError("agent manifest directory does not exist", source=str(agents_dir))
    manifests: list[AgentManifest] = []
    by_id: dict[str, str] = {}
    for path in sorted(agents_dir.glob("*.toml")):
        manifest = load_manifest(path)
        if manifest.id in by_id:
            raise ConfigError(
                f"agent id {manifest.id!r} is already defined in {by_id[manifest.id]}",
                source=str(path),
                field="id",
            )
        by_id[manifest.id] = str(path)
        manifests.append(manifest)
    if not manifests:
        raise ConfigError("no agent manifests (*.toml) found", source=str(agents_dir))
    return manifests


@dataclass(frozen=True, slots=True)
class ToolCatalogue:
    """What mcp-gateway's ``ListCatalogue`` said: each server's tools, and which servers have
    listed theirs (a server that never came up has none to check against)."""

    tools: dict[str, frozenset[str]]
    listed: frozenset[str]

    @classmethod
    def from_response(cls, reply: mcp_pb2.ListCatalogueResponse) -> ToolCatalogue:
        tools: dict[str, set[str]] = {s.name: set() for s in reply.servers}
        for tool in reply.tools:
            tools.setdefault(tool.server, set()).add(tool.name)
        listed = frozenset(s.name for s in reply.servers if s.tools_known)
        return cls({k: frozenset(v) for k, v in tools.items()}, listed)

    def unlisted(self, servers: Iterable[str]) -> set[str]:
        """Servers of ``servers`` that are configured but have not listed their tools."""
        return {s for s in servers if s in self.tools and s not in self.listed}


def tool_servers(manifests: Iterable[AgentManifest]) -> set[str]:
    """The MCP servers the manifests' ``allowed_tools`` name."""
    return {t.partition(".")[0] for m in manifests for t in m.allowed_tools}


def check_tools(manifests: Iterable[AgentManifest], catalogue: ToolCatalogue) -> None:
    """Raise :class:`ConfigError` naming the manifest file and the first tool mcp-gateway lacks."""
    for manifest in manifests:
        for i, name in enumerate(manifest.allowed_tools):
            field = f"allowed_tools[{i}]"
            server, dot, tool = name.partition(".")
            if not dot or not server or not tool:
                raise ConfigError(f"{name!r} is not 'server.tool' or 'server.*'", source=manifest.source, field=field)
            if server not in catalogue.tools:
                known = ", ".join(sorted(catalogue.tools)) or "none"
                raise ConfigError(
                    f"unknown tool {name!r}: mcp-gateway has no MCP server {server!r} (servers: {known})",
                    source=manifest.source,
                    field=field,
                )
            if tool != "*" and tool not in catalogue.tools[server]:
                has = ", ".join(sorted(catalogue.tools[server])) or "no tools"
                raise ConfigError(
                    f"unknown tool {name!r}: MCP server {server!r} has {has}", source=manifest.source, field=field
                )
