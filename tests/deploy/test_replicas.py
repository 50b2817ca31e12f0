"""docs/operations.md's Replicas table against the rendered overlays: what it says each service
supports and runs is what the manifests deploy (replicas or the HPA's range, the PDB, pod
anti-affinity on the service's own pods)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from deploy_support import ROOT, SERVICES, by_kind, kustomize

OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
OVERLAYS = ("dev", "prod")


def table() -> dict[str, dict[str, str]]:
    """The Replicas table: service → its cells by column name."""
    section = OPERATIONS.split("\n## Replicas\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    return {row[0].strip("`"): dict(zip(header, row, strict=True)) for row in rows}


def replicas(objects: list[dict[str, Any]], name: str) -> str:
    """What an overlay runs of ``name``: ``min–max`` of its HPA if it has one, else its replicas."""
    hpa = by_kind(objects, "HorizontalPodAutoscaler").get(name)
    if hpa is not None:
        return f"{hpa['spec']['minReplicas']}–{hpa['spec']['maxReplicas']}"
    return str(by_kind(objects, "Deployment")[name]["spec"]["replicas"])


def budget(objects: list[dict[str, Any]], name: str) -> str:
    spec = by_kind(objects, "PodDisruptionBudget")[name]["spec"]
    (key,) = [k for k in ("maxUnavailable", "minAvailable") if k in spec]
    return f"`{key}: {spec[key]}`"


def test_the_table_names_every_service_once() -> None:
    assert sorted(table()) == sorted(SERVICES)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_runs_the_replicas_and_budgets_the_table_states(overlay: str) -> None:
    objects = kustomize(overlay)
    for name, row in table().items():
        assert replicas(objects, name) == row[overlay], (overlay, name)
        budgets = row["PDB (dev / prod)"].split(" / ")
        assert budget(objects, name) == budgets[OVERLAYS.index(overlay) if len(budgets) == 2 else 0], (overlay, name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_what_the_table_says_supports_one_replica_runs_one(overlay: str) -> None:
    objects = kustomize(overlay)
    for name, row in table().items():
        if row["supports"] == "1":
            assert replicas(objects, name) == "1", (overlay, name)
            assert by_kind(objects, "HorizontalPodAutoscaler").get(name) is None, (overlay, name)
        else:
            assert re.fullmatch(r"N|1 active \+ standbys", row["supports"]), (name, row["supports"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_keeps_its_replicas_on_different_nodes(overlay: str) -> None:
    deployments = by_kind(kustomize(overlay), "Deployment")
    for name in SERVICES:
        anti = deployments[name]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        required = overlay == "prod" and name == "swarm-coordinator"
        if required:
            (term,) = anti["requiredDuringSchedulingIgnoredDuringExecution"]
        else:
            (weighted,) = anti["preferredDuringSchedulingIgnoredDuringExecution"]
            term = weighted["podAffinityTerm"]
        assert term["topologyKey"] == "kubernetes.io/hostname", (overlay, name)
        assert term["labelSelector"]["matchLabels"] == {"app.kubernetes.io/name": name}, (overlay, name)


def test_prod_runs_two_coordinators_whose_readiness_is_the_lease() -> None:
    deploy = by_kind(kustomize("prod"), "Deployment")["swarm-coordinator"]
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    # a standby is alive (the server's health) but not ready (the Coordinator service's health)
    assert container["readinessProbe"]["grpc"]["service"] == "vapora.coordinator.v1.Coordinator"
    for probe in ("startupProbe", "livenessProbe"):
        assert "service" not in container[probe]["grpc"], probe
