"""NatsCluster: three real nats-servers routed into one JetStream cluster, a node killed and restarted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext
from nats.js import api as js_api
from nats.js.errors import NoStreamResponseError

from vapora_testing.cluster import NatsCluster
from vapora_testing.fleet import SERVICES, Fleet
from vapora_testing.polling import eventually


async def _stream(url: str, name: str, count: int) -> None:
    """An R3 stream ``name`` with ``count`` messages, made through ``url`` (every node's, or one)."""
    nc = await nats.connect(url.split(","), max_reconnect_attempts=-1)
    try:
        js = nc.jetstream(timeout=10)
        await js.add_stream(js_api.StreamConfig(name=name, subjects=[f"{name.lower()}.>"], num_replicas=3))
        for i in range(count):
            await js.publish(f"{name.lower()}.x", str(i).encode(), timeout=10)
    finally:
        await nc.close()


def _new_leader(cluster: NatsCluster, stream: str, old: int) -> bool:
    """Whether a node other than ``old`` leads ``stream`` (False while none does: an election)."""
    try:
        return cluster.stream_leader(stream) != old
    except LookupError:
        return False


async def _publish_through_election(js: JetStreamContext, subject: str, data: bytes, msg_id: str) -> None:
    """One publish, asked again while the new leader does not answer yet; its msg id keeps it one message."""
    for _ in range(50):
        try:
            await js.publish(subject, data, timeout=10, headers={"Nats-Msg-Id": msg_id})
            return
        except NoStreamResponseError:  # no responders: the leader's interest has not reached this node yet
            await asyncio.sleep(0.2)
    raise AssertionError(f"no stream stored {subject} {msg_id} through the election")


def _local_messages(cluster: NatsCluster, i: int, stream: str) -> int:
    """How many messages node ``i``'s own replica of ``stream`` holds."""
    jsz = cluster.jsz(i, "?streams=true") or {}
    for account in jsz.get("account_details") or []:
        for detail in account.get("stream_detail") or []:
            if detail["name"] == stream:
                return int(detail["state"]["messages"])
    return -1


async def test_three_nodes_agree_on_one_meta_leader_and_each_serves_an_r3_stream(nats_cluster: NatsCluster) -> None:
    assert nats_cluster.meta_leader() in {"n0", "n1", "n2"}
    assert len(nats_cluster.urls) == 3 and nats_cluster.url == ",".join(nats_cluster.urls)
    await _stream(nats_cluster.urls[0], "ONE", 5)
    for url in nats_cluster.urls:  # each node alone answers for the stream made through node 0
        nc = await nats.connect(url)
        try:
            info = await nc.jetstream().stream_info("ONE")
        finally:
            await nc.close()
        assert info.state.messages == 5
        assert info.config.num_replicas == 3
    assert nats_cluster.stream_leader("ONE") in (0, 1, 2)
    with pytest.raises(RuntimeError, match="is running"):  # restarting a running node is refused
        nats_cluster.restart(0)


async def test_a_killed_stream_leader_is_replaced_and_catches_up_when_restarted(nats_cluster: NatsCluster) -> None:
    await _stream(nats_cluster.url, "TWO", 10)
    leader = nats_cluster.stream_leader("TWO")
    nats_cluster.kill(leader)
    assert not nats_cluster.nodes[leader].running
    await eventually(lambda: _new_leader(nats_cluster, "TWO", leader), timeout=30, what="a new leader of TWO")
    nc = await nats.connect(list(nats_cluster.urls), max_reconnect_attempts=-1)
    try:
        js = nc.jetstream(timeout=10)
        for i in range(10):  # and take writes
            await _publish_through_election(js, "two.x", str(10 + i).encode(), f"two-{10 + i}")
    finally:
        await nc.close()
    nats_cluster.restart(leader)
    assert nats_cluster.nodes[leader].running
    assert _local_messages(nats_cluster, leader, "TWO") == 20  # its replica caught up from the others


def test_a_cluster_needs_a_node_and_a_port_triple_per_node(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one node"):
        NatsCluster(tmp_path, 0)
    with pytest.raises(ValueError, match="2 port triples for 3 nodes"):
        NatsCluster(tmp_path, 3, ports=[(1, 2, 3), (4, 5, 6)])


def test_the_fleet_gives_every_service_every_node_and_as_many_stream_replicas(tmp_path: Path) -> None:
    for nodes in (1, 3):
        fleet = Fleet(tmp_path / f"run-{nodes}", nats_nodes=nodes)
        fleet.ports = {spec.name: (1, 2) for spec in SERVICES}
        fleet.extra_ports = {"VAPORA_MCP_HTTP_PORT": 3}
        fleet.nats_url = ",".join(f"nats://127.0.0.1:{4222 + i}" for i in range(nodes))
        for spec in SERVICES:
            env = fleet.service_environment(spec.name)
            assert env["VAPORA_JETSTREAM_REPLICAS"] == str(nodes)
            assert len(env["VAPORA_NATS_URL"].split(",")) == nodes
