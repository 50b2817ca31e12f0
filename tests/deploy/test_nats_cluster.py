"""NATS as the prod overlay deploys it: three nodes of one JetStream cluster, one per host, two kept up,
every stream with three replicas; and the rendered config run by three real nats-servers on
loopback (the routes' hostnames mapped to local ports), each service's own user declaring its
streams with the replicas the prod config gives it, a node SIGKILLed without losing a publish."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterator

import pytest
from deploy_support import SERVICES, by_kind, kustomize
from test_manifests import env_of

from vapora.tasks.v1 import tasks_pb2
from vapora_core.bus import Bus, subjects
from vapora_testing.cluster import NatsCluster
from vapora_testing.nats import NatsServer
from vapora_testing.ports import free_port

ROUTE = re.compile(r"nats://nats-(\d)\.nats-headless\.vapora\.svc\.cluster\.local:6222")


def test_prod_runs_three_nats_nodes_one_per_host_with_two_kept_up_and_every_stream_on_all_three() -> None:
    prod, dev = kustomize("prod"), kustomize("dev")
    sts = by_kind(prod, "StatefulSet")["nats"]
    spec = sts["spec"]
    assert spec["replicas"] == 3 and spec["podManagementPolicy"] == "Parallel"
    assert spec["serviceName"] == "nats-headless"
    anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti == [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "nats"}}}
    ]
    pdb = by_kind(prod, "PodDisruptionBudget")["nats"]["spec"]
    assert pdb["maxUnavailable"] == 1  # two of three stay: a JetStream quorum
    assert pdb["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    conf = by_kind(prod, "ConfigMap")["nats-config"]["data"]
    assert "server_name: $POD_NAME" in conf["nats.conf"] and "name: vapora" in conf["cluster.conf"]
    assert sorted(ROUTE.findall(conf["cluster.conf"])) == ["0", "1", "2"]  # every ordinal of the 3 replicas
    for name in SERVICES:
        assert env_of(prod, name)["VAPORA_JETSTREAM_REPLICAS"] == "3", name
        assert env_of(dev, name)["VAPORA_JETSTREAM_REPLICAS"] == "1", name
    assert by_kind(dev, "StatefulSet")["nats"]["spec"]["replicas"] == 1


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    return {s: secrets.token_hex(12) for s in SERVICES}


@pytest.fixture(scope="module")
def prod_cluster(tmp_path_factory: pytest.TempPathFactory, passwords: dict[str, str]) -> Iterator[NatsCluster]:
    """Three nats-servers, each with the prod overlay's nats.conf, cluster.conf and auth.conf, its
    route port for ``nats-<i>.nats-headless…:6222`` and the passwords the pods get from the Secrets."""
    objects = kustomize("prod")
    data = by_kind(objects, "ConfigMap")["nats-config"]["data"]
    pod = by_kind(objects, "StatefulSet")["nats"]["spec"]["template"]["spec"]["containers"][0]
    env = {"PATH": "/usr/bin:/bin"}
    for item in pod["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            env[item["name"]] = passwords[ref["name"].removeprefix("nats-")]
    routes = [free_port() for _ in range(3)]
    servers = []
    for i in range(3):
        conf = tmp_path_factory.mktemp(f"nats-{i}")
        (conf / "nats.conf").write_text(data["nats.conf"].replace("/data/jetstream", str(conf / "js")))
        cluster_conf = ROUTE.sub(lambda m: f"nats://127.0.0.1:{routes[int(m.group(1))]}", data["cluster.conf"])
        assert "listen: 0.0.0.0:6222" in cluster_conf
        (conf / "cluster.conf").write_text(cluster_conf.replace("0.0.0.0:6222", f"127.0.0.1:{routes[i]}"))
        (conf / "auth.conf").write_text(data["auth.conf"])
        node_env = {**env, "POD_NAME": f"nats-{i}"}
        servers.append(NatsServer(conf / "js", log_file=conf / "nats.log", config=conf / "nats.conf", env=node_env))
    cluster = NatsCluster.of(servers, [f"nats-{i}" for i in range(3)], name="vapora")
    for server in servers:
        server.spawn()
    try:
        cluster.wait_healthy(60)
        yield cluster
    finally:
        cluster.stop()


async def _buses(cluster: NatsCluster, passwords: dict[str, str]) -> dict[str, Bus]:
    """Every service's bus as prod configures it: its own user, every node, the prod replica count."""
    replicas = int(env_of(kustomize("prod"), "api-gateway")["VAPORA_JETSTREAM_REPLICAS"])
    out: dict[str, Bus] = {}
    for service in SERVICES:
        bus = Bus(
            cluster.url, service, replicas=replicas, graceful_timeout=1.0, user=service, password=passwords[service]
        )
        await bus.start(connect_timeout=30)  # each declares every stream, as at start
        out[service] = bus
    return out


def test_the_rendered_config_forms_one_jetstream_cluster_of_three(prod_cluster: NatsCluster) -> None:
    meta = [(prod_cluster.jsz(i) or {}).get("meta_cluster") or {} for i in range(3)]
    assert {m.get("name") for m in meta} == {"vapora"}
    assert {m.get("cluster_size") for m in meta} == {3}
    assert prod_cluster.meta_leader() in {"nats-0", "nats-1", "nats-2"}


async def test_each_service_declares_r3_streams_and_a_publish_survives_a_node_sigkilled(
    prod_cluster: NatsCluster, passwords: dict[str, str]
) -> None:
    buses = await _buses(prod_cluster, passwords)
    try:
        gateway = buses["api-gateway"]
        info = await gateway.js.stream_info("TASKS")
        assert info.config.num_replicas == 3
        assert info.cluster is not None and len(info.cluster.replicas or []) == 2  # and the leader
        victim = prod_cluster.stream_leader("TASKS")
        prod_cluster.kill(victim)
        task = tasks_pb2.TaskSubmitted(task=tasks_pb2.Task(id="after-the-kill"))
        stored = await gateway.publish(subjects.task("coding", "normal"), task, msg_id="after-the-kill")
        assert stored.stream == "TASKS"
        assert prod_cluster.stream_leader("TASKS") != victim
        await asyncio.to_thread(prod_cluster.restart, victim, 60)
    finally:
        await asyncio.gather(*(b.stop() for b in buses.values()))
