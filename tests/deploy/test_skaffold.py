"""skaffold.yaml validates against the v4beta14 schema and builds exactly the seven services."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from deploy_support import ROOT, SCHEMAS, SERVICES, by_kind, kustomize, skaffold_configs


def schema() -> dict[str, Any]:
    path = SCHEMAS / "skaffold-v4beta14.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: the checks need shared/ beside the repo")
    return json.loads(path.read_text())


def test_every_config_validates_against_the_skaffold_v4beta14_schema() -> None:
    docs = skaffold_configs()
    assert [d["metadata"]["name"] for d in docs] == ["vapora-infra", "vapora"]
    for doc in docs:
        assert doc["apiVersion"] == "skaffold/v4beta14"
        jsonschema.validate(doc, schema())


def test_the_schema_check_can_fail() -> None:
    doc = skaffold_configs()[1]
    doc["build"]["artifacts"][0]["dockerfil"] = "Dockerfile"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema())


def test_one_artifact_per_service_built_from_the_repo_root_with_the_one_dockerfile() -> None:
    app = skaffold_configs()[1]
    artifacts = {a["image"]: a for a in app["build"]["artifacts"]}
    assert set(artifacts) == {f"vapora-{s}" for s in SERVICES}
    for service in SERVICES:
        artifact = artifacts[f"vapora-{service}"]
        assert artifact["context"] == "."
        dockerfile = ROOT / artifact["context"] / artifact["docker"]["dockerfile"]
        assert dockerfile.is_file(), f"{dockerfile} does not exist"
        assert "--package vapora-${SERVICE}" in dockerfile.read_text()
        args = artifact["docker"]["buildArgs"]
        assert (args["SERVICE"], args["MODULE"]) == (service, "vapora_" + service.replace("-", "_"))
    assert "gitCommit" in app["build"]["tagPolicy"]


def test_the_app_config_requires_the_infrastructure_config_with_the_same_profile() -> None:
    infra, app = skaffold_configs()
    assert app["requires"] == [
        {
            "configs": ["vapora-infra"],
            "activeProfiles": [{"name": "dev", "activatedBy": ["dev"]}, {"name": "prod", "activatedBy": ["prod"]}],
        }
    ]
    assert not infra.get("build")
    for doc in (infra, app):
        profiles = {p["name"]: p for p in doc["profiles"]}
        assert set(profiles) == {"dev", "prod"}
        for name, profile in profiles.items():
            for path in profile["manifests"]["kustomize"]["paths"]:
                assert path.startswith(f"k8s/overlays/{name}/"), path
                assert (ROOT / path / "kustomization.yaml").is_file(), path
    forwards = {
        f["resourceName"]: f
        for doc in (infra, app)
        for f in next(p for p in doc["profiles"] if p["name"] == "dev")["portForward"]
    }
    assert {"api-gateway", "grafana", "prometheus"} <= set(forwards)


def test_images_the_manifests_use_are_exactly_the_artifacts() -> None:
    artifacts = {a["image"] for a in skaffold_configs()[1]["build"]["artifacts"]}
    objects = kustomize("prod/apps")
    images = set()
    for kind in ("Deployment", "Job"):
        for obj in by_kind(objects, kind).values():
            images |= {c["image"] for c in obj["spec"]["template"]["spec"]["containers"]}
    assert images <= artifacts
    assert {f"vapora-{s}" for s in SERVICES} <= images
