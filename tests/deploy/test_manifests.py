"""k8s/: every overlay builds, every object validates strictly, and the manifests keep the
promises of issue 7 (security contexts, probes, PDBs, HPA, NATS cluster size, scraping,
store credentials from Secrets, network policies)."""

from __future__ import annotations

import importlib
import inspect
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import GRPC_SERVICES, K8S, MONITORING, OVERLAYS, SERVICES, by_kind, kustomize, require_tool

from vapora_core.settings import ServiceSettings

STORE_SERVICES = ("api-gateway", "agent-registry", "swarm-coordinator", "llm-router", "knowledge-graph", "mcp-gateway")


def container(deploy: dict[str, Any]) -> dict[str, Any]:
    containers = deploy["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, deploy["metadata"]["name"]
    return containers[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_builds_with_kubectl_kustomize(overlay: str) -> None:
    objects = kustomize(overlay)
    assert objects, f"{overlay} rendered nothing"
    assert all(o["metadata"].get("namespace") == "vapora" for o in objects if o["kind"] != "Namespace")


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_kubernetes_validate_strict_accepts_every_object(overlay: str, tmp_path: Path) -> None:
    validator = require_tool("kubernetes-validate", "uv sync (dev group)")
    out = tmp_path / f"{overlay.replace('/', '-')}.yaml"
    out.write_text(yaml.safe_dump_all(kustomize(overlay)))
    proc = subprocess.run([validator, "--strict", "--quiet", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_kubernetes_validate_strict_rejects_an_unknown_field(tmp_path: Path) -> None:
    """The check above can fail: a typo in a Deployment is rejected."""
    validator = require_tool("kubernetes-validate", "uv sync (dev group)")
    deploy = by_kind(kustomize("dev"), "Deployment")["agent-registry"]
    container(deploy)["imagePullPolcy"] = "Always"
    out = tmp_path / "bad.yaml"
    out.write_text(yaml.safe_dump(deploy))
    proc = subprocess.run([validator, "--strict", "--quiet", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "imagePullPolcy" in proc.stdout + proc.stderr


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_service_runs_non_root_read_only_with_resources_and_a_pdb(overlay: str) -> None:
    objects = kustomize(overlay)
    deployments, services, pdbs = (
        by_kind(objects, "Deployment"),
        by_kind(objects, "Service"),
        by_kind(objects, "PodDisruptionBudget"),
    )
    for name in SERVICES:
        deploy = deployments[name]
        pod = deploy["spec"]["template"]["spec"]
        c = container(deploy)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and {"cpu", "memory"} <= set(
            c["resources"]["limits"]
        ), name
        assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), f"{name}: no writable /tmp"
        assert c["image"] == f"vapora-{name}", name
        assert name in services, f"{name} has no Service"
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == deploy["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("name", SERVICES)
def test_probes_use_grpc_health_for_grpc_services_and_http_for_the_others(name: str) -> None:
    c = container(by_kind(kustomize("prod"), "Deployment")[name])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if name in GRPC_SERVICES:
            assert c[probe]["grpc"]["port"] == 50051, (name, probe)
        else:
            assert "httpGet" in c[probe], (name, probe)
    if name not in GRPC_SERVICES:
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"


def env_of(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The container's environment: the shared ConfigMap's keys, then its own env entries."""
    c = container(by_kind(objects, "Deployment")[name])
    configmaps = by_kind(objects, "ConfigMap")
    env: dict[str, Any] = {}
    for source in c.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for item in c.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


@pytest.mark.parametrize("name", SERVICES)
def test_environment_follows_the_fleet_contract_and_every_variable_is_a_setting(name: str) -> None:
    env = env_of(kustomize("prod"), name)
    assert env["VAPORA_SERVICE_NAME"] == name
    assert env["VAPORA_NATS_URL"] == "nats://nats:4222"
    assert env["VAPORA_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    assert env["VAPORA_GRPC_HOST"] == env["VAPORA_METRICS_HOST"] == "0.0.0.0"
    for var in (
        "VAPORA_REGISTRY_ADDR",
        "VAPORA_COORDINATOR_ADDR",
        "VAPORA_ROUTER_ADDR",
        "VAPORA_KG_ADDR",
        "VAPORA_MCP_ADDR",
    ):
        assert env[var].endswith(":50051"), var
    if name in STORE_SERVICES:
        assert env["VAPORA_STORE_URL"] == "ws://surrealdb:8000/rpc"
        for var, key in (("VAPORA_STORE_USER", "username"), ("VAPORA_STORE_PASSWORD", "password")):
            assert env[var] == {"secretKeyRef": {"name": f"store-{name}", "key": key}}, var
    # every VAPORA_* variable the manifests set is a field of the service's settings class
    module = importlib.import_module(f"vapora_{name.replace('-', '_')}.settings")
    classes = [c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, ServiceSettings)]
    settings_cls = max(classes, key=lambda c: len(c.__mro__))
    fields = set(settings_cls.model_fields)
    # the fleet contract gives these to every process, whether it reads them or not
    contract = {"registry_addr", "coordinator_addr", "router_addr", "kg_addr", "mcp_addr", "config_dir", "http_port"}
    unknown = {v for v in env if v.startswith("VAPORA_") and v.removeprefix("VAPORA_").lower() not in fields | contract}
    assert not unknown, f"{name}: {settings_cls.__name__} has no field for {sorted(unknown)}"


# the services docs/operations.md ("Replicas") says run several replicas in prod, and how many
SCALED_OUT = {"api-gateway": 2, "llm-router": 2}


def test_services_that_scale_out_run_their_replicas_on_different_hosts_one_down_at_a_time() -> None:
    prod, dev = kustomize("prod"), kustomize("dev")
    deployments, pdbs = by_kind(prod, "Deployment"), by_kind(prod, "PodDisruptionBudget")
    for name, replicas in SCALED_OUT.items():
        assert deployments[name]["spec"]["replicas"] == replicas, name
        assert by_kind(dev, "Deployment")[name]["spec"]["replicas"] == 1, name
        assert pdbs[name]["spec"] == {"maxUnavailable": 1, "selector": deployments[name]["spec"]["selector"]}, name
        terms = deployments[name]["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
            "preferredDuringSchedulingIgnoredDuringExecution"
        ]
        assert [t["podAffinityTerm"] for t in terms] == [
            {
                "topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            }
        ], name
        assert deployments[name]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == name
    for name, deploy in deployments.items():
        # agent-runtime: its HPA; swarm-coordinator: one active and a standby (test_replicas.py)
        if name not in SCALED_OUT and name not in ("agent-runtime", "swarm-coordinator"):
            assert deploy["spec"].get("replicas", 1) == 1, f"{name} runs several replicas: docs/operations.md says not"


def test_nats_runs_one_node_in_dev_and_a_three_node_jetstream_cluster_in_prod() -> None:
    dev = by_kind(kustomize("dev"), "StatefulSet")["nats"]
    prod_objects = kustomize("prod")
    prod = by_kind(prod_objects, "StatefulSet")["nats"]
    assert dev["spec"]["replicas"] == 1
    assert prod["spec"]["replicas"] == 3
    for sts in (dev, prod):
        assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    conf = by_kind(prod_objects, "ConfigMap")["nats-config"]["data"]
    assert "jetstream" in conf["nats.conf"]
    routes = [line.strip() for line in conf["cluster.conf"].splitlines() if line.strip().startswith("nats://")]
    assert routes == [f"nats://nats-{i}.nats-headless.vapora.svc.cluster.local:6222" for i in range(3)]
    assert by_kind(kustomize("dev"), "ConfigMap")["nats-config"]["data"]["cluster.conf"].strip().startswith("#")


def test_surrealdb_is_a_statefulset_with_root_credentials_from_a_secret() -> None:
    objects = kustomize("prod")
    sts = by_kind(objects, "StatefulSet")["surrealdb"]
    c = sts["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"]["name"] for e in c["env"] if "valueFrom" in e}
    assert set(refs.values()) == {"surrealdb-root"}
    assert sts["spec"]["volumeClaimTemplates"]
    job = by_kind(objects, "Job")["store-users"]
    job_env = {e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    for name in STORE_SERVICES:
        var = name.upper().replace("-", "_")
        assert {f"{var}_USERNAME", f"{var}_PASSWORD"} <= job_env, name


def _secret_refs(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(Secret, key) of every required secretKeyRef of every pod template."""
    refs = set()
    for o in objects:
        pod = o.get("spec", {}).get("template", {}).get("spec", {})
        for c in [*pod.get("containers", []), *pod.get("initContainers", [])]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    refs.add((ref["name"], ref["key"]))
    return refs


def test_the_dev_overlay_creates_every_secret_key_the_pods_need() -> None:
    objects = kustomize("dev")
    secrets = {name: set(o.get("data", {})) for name, o in by_kind(objects, "Secret").items()}
    missing = {(name, key) for name, key in _secret_refs(objects) if key not in secrets.get(name, set())}
    assert not missing, f"the dev overlay creates no Secret key for {sorted(missing)}"


def test_mcp_gateway_checks_job_tokens_with_the_public_key_from_a_secret() -> None:
    for overlay in ("dev", "prod"):
        env = env_of(kustomize(overlay), "mcp-gateway")
        assert env["VAPORA_MCP_HTTP_HOST"] == "0.0.0.0"
        assert env["VAPORA_JOB_VERIFY_KEY"] == {"secretKeyRef": {"name": "job-signing-key", "key": "public.pem"}}
        assert "VAPORA_MCP_HTTP_TOKEN" not in env


def test_mcp_gateway_keeps_repositories_on_a_volume_with_credentials_from_an_optional_secret() -> None:
    for overlay in ("dev", "prod"):
        objects = kustomize(overlay)
        env = env_of(objects, "mcp-gateway")
        assert env["VAPORA_DATA_DIR"] == "/var/lib/vapora"
        assert env["VAPORA_REPO_LOCAL_ROOTS"] == "/var/lib/vapora/local"
        assert env["VAPORA_REPO_CREDENTIALS"] == {
            "secretKeyRef": {"name": "repo-credentials", "key": "credentials.json", "optional": True}
        }
        deployment = by_kind(objects, "Deployment")["mcp-gateway"]
        pod = deployment["spec"]["template"]["spec"]
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert mounts["repos"] == "/var/lib/vapora"
        claim = volumes["repos"]["persistentVolumeClaim"]["claimName"]
        assert by_kind(objects, "PersistentVolumeClaim")[claim]["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # one pod holds the volume at a time


def test_agent_runtime_has_an_hpa_in_every_overlay() -> None:
    for overlay in ("dev", "prod"):
        hpa = by_kind(kustomize(overlay), "HorizontalPodAutoscaler")["agent-runtime"]
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "agent-runtime"}
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 1


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def allowed(objects: list[dict[str, Any]], src: str, dst: str, port: int) -> bool:
    """Whether the NetworkPolicies let pods of ``src`` open ``port`` on pods of ``dst``
    (both directions must allow it, as with default-deny ingress and egress)."""
    pods = {
        name: d["spec"]["template"]["metadata"]["labels"]
        for kind in ("Deployment", "StatefulSet")
        for name, d in by_kind(objects, kind).items()
    }
    policies = list(by_kind(objects, "NetworkPolicy").values())

    def ok(direction: str, owner: str, peer: str) -> bool:
        key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        relevant = [
            p
            for p in policies
            if selects(p["spec"]["podSelector"], pods[owner]) and direction in p["spec"]["policyTypes"]
        ]
        for p in relevant:
            for rule in p["spec"].get(key, []):
                peers = rule.get(peer_key)
                ports = [x["port"] for x in rule.get("ports", [])]
                if ports and port not in ports:
                    continue
                if peers is None or any(
                    "podSelector" in x and "namespaceSelector" not in x and selects(x["podSelector"], pods[peer])
                    for x in peers
                ):
                    return True
        return False

    return ok("Egress", src, dst) and ok("Ingress", dst, src)


def test_network_policies_allow_what_the_architecture_needs_and_deny_the_rest() -> None:
    objects = kustomize("prod")
    netpols = by_kind(objects, "NetworkPolicy")
    assert netpols["default-deny"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    needed = [
        ("swarm-coordinator", "agent-registry", 50051),
        ("swarm-coordinator", "knowledge-graph", 50051),
        ("agent-runtime", "llm-router", 50051),
        ("agent-runtime", "mcp-gateway", 50051),
        ("api-gateway", "agent-registry", 50051),
        ("api-gateway", "swarm-coordinator", 50051),
        ("api-gateway", "llm-router", 50051),
        ("api-gateway", "knowledge-graph", 50051),
        ("api-gateway", "mcp-gateway", 50051),
        ("prometheus", "agent-runtime", 9100),
        ("prometheus", "api-gateway", 8080),
        ("grafana", "prometheus", 9090),
    ]
    needed += [(s, "nats", 4222) for s in SERVICES]
    needed += [(s, "otel-collector", 4317) for s in SERVICES]
    needed += [(s, "surrealdb", 8000) for s in STORE_SERVICES]
    for src, dst, port in needed:
        assert allowed(objects, src, dst, port), f"{src} -> {dst}:{port} is blocked"
    denied = [
        ("agent-runtime", "surrealdb", 8000),  # stateless: no store
        ("agent-runtime", "swarm-coordinator", 50051),
        ("knowledge-graph", "llm-router", 50051),
        ("api-gateway", "nats", 6222),
        ("grafana", "surrealdb", 8000),
    ]
    for src, dst, port in denied:
        assert not allowed(objects, src, dst, port), f"{src} -> {dst}:{port} should be denied"


def test_every_service_is_scraped_by_prometheus() -> None:
    objects = kustomize("prod")
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    keep = config["scrape_configs"][0]["relabel_configs"][0]
    assert keep["source_labels"] == ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"]
    for name in SERVICES:
        deploy = by_kind(objects, "Deployment")[name]
        notes = deploy["spec"]["template"]["metadata"]["annotations"]
        port = int(notes["prometheus.io/port"])
        assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/path"] == "/metrics"
        assert port in [p["containerPort"] for p in container(deploy)["ports"]], name
    cms = by_kind(objects, "ConfigMap")
    dashboards = next(cm for n, cm in cms.items() if n.startswith("grafana-dashboards"))
    assert sorted(dashboards["data"]) == sorted(p.name for p in (MONITORING / "dashboards").glob("*.json"))
    assert any(n.startswith("prometheus-rules") for n in cms)


def test_kustomizations_list_every_manifest_file_in_their_directory() -> None:
    """A new manifest file that nobody added to its kustomization is caught."""
    for kfile in (K8S / "base").glob("*/kustomization.yaml"):
        listed = set(yaml.safe_load(kfile.read_text()).get("resources", []))
        present = {p.name for p in kfile.parent.glob("*.yaml")} - {"kustomization.yaml"}
        assert present <= listed, f"{kfile.parent.name}: not listed {sorted(present - listed)}"
