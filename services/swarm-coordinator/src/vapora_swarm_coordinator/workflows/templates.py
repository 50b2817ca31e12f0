"""The templates a workspace can run: the shared ones of ``config/workflows.toml`` and its own.

- The file is read at start (an invalid one stops the start with the file, workflow, stage and
  field named) and again on SIGHUP (:meth:`Templates.reload`: an invalid file is refused and the
  templates loaded before keep serving). Task types and roles are checked against the registry's
  agents then too, as warnings only: agents may not have registered yet. A run of a template is
  checked again when it starts (:func:`definitions.resolved`), and refused if the fleet lacks a type
  or a role then.
- A workspace's own templates (``workflow_template``) are checked in full when they are made,
  the fleet's task types and roles included, and may not take the name of a shared one. One is
  never changed once made, so the process keeps those it has read or made (up to ``OWN_CACHE``):
  a burst of starts of one template reads it from the store once, not once per run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vapora_core.errors import AlreadyExists, ConfigError, FailedPrecondition, NotFound, Unavailable
from vapora_swarm_coordinator.workflows import definitions
from vapora_swarm_coordinator.workflows.catalogue import Catalogue
from vapora_swarm_coordinator.workflows.definitions import WorkflowDef
from vapora_swarm_coordinator.workflows.repository import WorkflowRepository

log = logging.getLogger("vapora.coordinator.workflows")

OWN_CACHE = 1024  # workspaces' own templates kept in the process, the oldest read dropped first


@dataclass(frozen=True, slots=True)
class Template:
    definition: WorkflowDef
    workspace_id: str = ""  # "": shared (config/workflows.toml)
    created_by: str = ""
    created_s: float = 0.0


class Templates:
    def __init__(self, repo: WorkflowRepository, path: Path | None, catalogue: Callable[[], Catalogue]) -> None:
        self.repo = repo
        self.path = path
        self.catalogue = catalogue
        self._shared: dict[str, Template] = {}
        self._own: dict[tuple[str, str], Template] = {}  # (workspace, name) → a template it made

    def load(self) -> list[str]:
        """Read the file (ConfigError when it does not validate); the names of its templates."""
        if self.path is None:
            return []
        if not self.path.exists():
            log.warning("no workflow templates file at %s: only workspaces' own templates", self.path)
            self._shared = {}
            return []
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read it: {exc}", source=str(self.path)) from exc
        loaded = definitions.parse_toml(text, str(self.path))
        catalogue = self.catalogue()
        for d in loaded:
            self._warn_unknown(d, catalogue)
        self._shared = {d.name: Template(d) for d in loaded}
        return sorted(self._shared)

    def reload(self) -> None:
        """SIGHUP: read the file again; an invalid one is logged and the previous templates stay."""
        try:
            names = self.load()
        except ConfigError as exc:
            log.error("workflow templates not reloaded, the previous ones keep serving: %s", exc)
            return
        log.info("workflow templates reloaded from %s: %s", self.path, ", ".join(names) or "none")

    def _warn_unknown(self, d: WorkflowDef, catalogue: Catalogue) -> None:
        if not catalogue.known or not catalogue.task_types:
            log.warning("workflow %s: task types and roles not checked yet (no agent registered)", d.name)
            return
        try:
            definitions.check_catalogue(d, catalogue, str(self.path))
        except FailedPrecondition as exc:
            log.warning("%s (a run of it is refused until an agent takes it)", exc)

    @property
    def shared(self) -> list[Template]:
        return [self._shared[n] for n in sorted(self._shared)]

    async def list(self, workspace_id: str) -> list[Template]:
        own = [
            Template(
                definitions.from_data(r["definition"]),
                workspace_id,
                str(r.get("created_by", "")),
                float(r.get("created_s", 0.0)),
            )
            for r in await self.repo.templates(workspace_id)
        ]
        return [*self.shared, *own]

    async def get(self, workspace_id: str, name: str) -> Template:
        shared = self._shared.get(name)
        if shared is not None:
            return shared
        own = self._own.get((workspace_id, name))
        if own is not None:
            return own
        row = await self.repo.template(workspace_id, name)
        if row is None or row.get("workspace_id") != workspace_id:
            raise NotFound(f"no workflow {name!r} in workspace {workspace_id}")
        return self._kept(
            Template(
                definitions.from_data(row["definition"]),
                workspace_id,
                str(row.get("created_by", "")),
                float(row.get("created_s", 0.0)),
            )
        )

    def _kept(self, template: Template) -> Template:
        """``template`` (a workspace's own, as stored), kept for the next :meth:`get`."""
        if len(self._own) >= OWN_CACHE:
            del self._own[next(iter(self._own))]
        self._own[(template.workspace_id, template.definition.name)] = template
        return template

    async def create(self, workspace_id: str, definition: WorkflowDef, actor: str, now_s: float) -> Template:
        """Check ``definition`` against the fleet and keep it as the workspace's own."""
        if definition.name in self._shared:
            raise AlreadyExists(f"workflow {definition.name!r} is a shared template (config/workflows.toml)")
        catalogue = self.catalogue()
        if not catalogue.known:
            raise Unavailable("cannot check the workflow's task types and roles: agent-registry has not answered yet")
        definitions.check_catalogue(definition, catalogue)
        row = {
            "workspace_id": workspace_id,
            "name": definition.name,
            "definition": definitions.as_data(definition),
            "created_by": actor,
            "created_s": now_s,
        }
        await self.repo.create_template(workspace_id, definition.name, row)
        return self._kept(Template(definition, workspace_id, actor, now_s))
