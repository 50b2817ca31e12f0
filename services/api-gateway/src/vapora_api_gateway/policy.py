"""Authorization with Cedar: role policies per workspace, kept in ``config/policies/*.cedar``.

Every route names one action (``task.create``, ``member.add``, ...). A request is
``User::<caller>`` doing ``Action::<action>`` on ``Workspace::<id>`` with ``context.role``
the caller's role there. The policies decide; the decision depends only on
(action, role), so decisions are memoised per pair after Cedar made them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cedarpy

from vapora_core.errors import ConfigError, PermissionDenied

ROLES = ("owner", "admin", "member", "viewer")

_ACTION_DECL = re.compile(r'action\s+((?:"[^"]+"\s*,?\s*)+)in\s*\[\s*"([^"]+)"\s*\]', re.S)


def _actions_from_schema(schema: str) -> dict[str, str]:
    """action -> group, read from the schema so there is one list of actions."""
    out: dict[str, str] = {}
    for names, group in _ACTION_DECL.findall(schema):
        for name in re.findall(r'"([^"]+)"', names):
            out[name] = group
    return out


class Authorizer:
    def __init__(self, policy_dir: Path) -> None:
        schema_path = policy_dir / "gateway.cedarschema"
        try:
            schema_text = schema_path.read_text(encoding="utf-8")
            files = sorted(policy_dir.glob("*.cedar"))
            if not files:
                raise ConfigError("no *.cedar policy files", source=str(policy_dir))
            text = "\n".join(p.read_text(encoding="utf-8") for p in files)
        except OSError as exc:
            raise ConfigError(f"cannot read policies: {exc}", source=str(policy_dir)) from exc
        self.actions = _actions_from_schema(schema_text)
        if not self.actions:
            raise ConfigError("no actions declared", source=str(schema_path))
        self._schema = cedarpy.Schema.from_str(schema_text) if hasattr(cedarpy, "Schema") else schema_text
        result = cedarpy.validate_policies(text, schema_text)
        if not result.validation_passed:
            errs = "; ".join(str(e) for e in result.errors)
            raise ConfigError(f"policies do not validate against the schema: {errs}", source=str(policy_dir))
        self._policies = cedarpy.PolicySet.from_str(text)
        entities: list[dict[str, Any]] = [
            {"uid": {"type": "Action", "id": g}, "attrs": {}, "parents": []} for g in set(self.actions.values())
        ]
        entities += [
            {"uid": {"type": "Action", "id": a}, "attrs": {}, "parents": [{"type": "Action", "id": g}]}
            for a, g in self.actions.items()
        ]
        self._entities = cedarpy.Entities.from_json_str(json.dumps(entities))
        self._memo: dict[tuple[str, str], bool] = {}

    def decide(self, user_id: str, action: str, workspace_id: str, role: str) -> bool:
        """Cedar's decision for ``user_id`` doing ``action`` in ``workspace_id`` as ``role``."""
        if action not in self.actions:
            raise ConfigError(f"unknown action {action!r}", source="policies")
        key = (action, role)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        request = {
            "principal": {"type": "User", "id": user_id},
            "action": {"type": "Action", "id": action},
            "resource": {"type": "Workspace", "id": workspace_id},
            "context": {"role": role},
        }
        result = cedarpy.is_authorized(request, self._policies, self._entities)
        allowed = result.decision == cedarpy.Decision.Allow
        self._memo[key] = allowed
        return allowed

    def check(self, user_id: str, action: str, workspace_id: str, role: str) -> None:
        if not self.decide(user_id, action, workspace_id, role):
            raise PermissionDenied(f"your role {role!r} in this workspace does not allow {action}")
