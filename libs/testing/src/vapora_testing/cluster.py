"""A JetStream cluster of N real ``nats-server -js`` processes on loopback, for fault tests and ``just up``.

Each node has its own client, monitoring and route ports, its own store directory and server
name; every node is given every node's route (``--routes``), so any two can find each other
again after one restarts. :meth:`NatsCluster.start` returns once every node is healthy and one
JetStream meta leader is known to all of them; :meth:`~NatsCluster.kill` SIGKILLs a node and
:meth:`~NatsCluster.restart` starts it again on the same ports and the same store directory,
returning once it has caught up (its ``/healthz``: meta layer and every stream and consumer
current). Clients get :attr:`~NatsCluster.urls` (``VAPORA_NATS_URL`` takes them comma-separated).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vapora_testing.nats import ClusterRole, NatsServer
from vapora_testing.polling import eventually_sync
from vapora_testing.ports import free_port


class NatsCluster:
    """``nodes`` servers under ``root`` (``root/n<i>`` each, server names ``n<i>``, logs
    ``nats-n<i>.log`` in ``log_dir``); ``ports``: (client, monitoring, route) of every node, free
    ones when not given. :meth:`of` makes one of servers configured otherwise (a config file)."""

    def __init__(
        self,
        root: Path,
        nodes: int = 3,
        *,
        name: str = "vapora",
        ports: Sequence[tuple[int, int, int]] | None = None,
        log_dir: Path | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError(f"a cluster needs at least one node, got {nodes}")
        if ports is not None and len(ports) != nodes:
            raise ValueError(f"{len(ports)} port triples for {nodes} nodes")
        chosen = list(ports) if ports is not None else [(free_port(), free_port(), free_port()) for _ in range(nodes)]
        routes = tuple(f"nats://127.0.0.1:{route}" for _, _, route in chosen)
        self.name = name
        self.names = [f"n{i}" for i in range(nodes)]  # each node's server name, as JetStream reports it
        self.nodes = [
            NatsServer(
                root / f"n{i}",
                client,
                monitor,
                (log_dir or root) / f"nats-n{i}.log",
                cluster=ClusterRole(name, f"n{i}", route, routes),
            )
            for i, (client, monitor, route) in enumerate(chosen)
        ]

    @classmethod
    def of(cls, servers: Sequence[NatsServer], names: Sequence[str], *, name: str) -> NatsCluster:
        """The cluster ``servers`` form by their own configuration, their server names ``names``."""
        if len(servers) != len(names) or not servers:
            raise ValueError(f"{len(servers)} servers and {len(names)} names")
        cluster = cls.__new__(cls)
        cluster.name, cluster.names, cluster.nodes = name, list(names), list(servers)
        return cluster

    def index(self, server_name: str) -> int:
        """The index of the node named ``server_name``."""
        return self.names.index(server_name)

    @property
    def urls(self) -> tuple[str, ...]:
        """Every node's client URL, dead ones included (a client reconnects to whichever is up)."""
        return tuple(n.url for n in self.nodes)

    @property
    def url(self) -> str:
        """:attr:`urls` comma-separated, as ``VAPORA_NATS_URL`` takes them."""
        return ",".join(self.urls)

    def start(self, timeout: float = 30.0) -> NatsCluster:
        """Start every node at once and wait until the cluster is healthy (:meth:`wait_healthy`)."""
        for node in self.nodes:
            node.spawn()
        try:
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, i: int) -> None:
        """SIGKILL node ``i``: no shutdown, no lame-duck mode, its store left as it was."""
        self.nodes[i].kill()

    def restart(self, i: int, timeout: float = 30.0) -> None:
        """Start node ``i`` again (same ports, same store) and wait until the cluster is healthy with
        it and every stream's leader counts its replica current (:meth:`caught_up`)."""
        node = self.nodes[i]
        if node.running:
            raise RuntimeError(f"node {self.names[i]} is running; kill it first")
        node.spawn()
        deadline = time.monotonic() + timeout
        self.wait_healthy(timeout)
        left = max(0.0, deadline - time.monotonic())
        eventually_sync(lambda: self.caught_up(i), timeout=left, what=f"node {self.names[i]} to catch up", interval=0.1)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    # -- what the nodes say --------------------------------------------------------------

    def jsz(self, i: int, query: str = "") -> dict[str, Any] | None:
        """Node ``i``'s ``/jsz`` (JetStream state), None when it does not answer."""
        body = self.nodes[i].monitor(f"/jsz{query}", timeout=2.0)
        return dict(json.loads(body)) if body is not None else None

    def meta_leader(self) -> str:
        """The server name of the JetStream meta leader every running node agrees on; "" when they do not (yet)."""
        seen = set()
        for i, node in enumerate(self.nodes):
            if not node.running:
                continue
            jsz = self.jsz(i)
            seen.add(((jsz or {}).get("meta_cluster") or {}).get("leader", ""))
        return seen.pop() if len(seen) == 1 else ""

    def stream_leader(self, stream: str) -> int:
        """The index of the node that leads ``stream`` (the one whose death forces an election)."""
        for i, node in enumerate(self.nodes):
            if not node.running:
                continue
            for detail in self._streams(i):
                leader = (detail.get("cluster") or {}).get("leader", "")
                if detail.get("name") == stream and leader:
                    return self.index(leader)
        raise LookupError(f"no running node knows a leader of stream {stream}")

    def consumer_leader(self, stream: str, durable: str) -> int:
        """The index of the node that leads ``durable`` of ``stream`` (where its pull requests wait)."""
        for i, node in enumerate(self.nodes):
            if not node.running:
                continue
            for detail in self._streams(i, "?consumers=true"):
                for consumer in detail.get("consumer_detail") or [] if detail.get("name") == stream else []:
                    leader = (consumer.get("cluster") or {}).get("leader", "")
                    if consumer.get("name") == durable and leader:
                        return self.index(leader)
        raise LookupError(f"no running node knows a leader of consumer {durable} of {stream}")

    def _streams(self, i: int, query: str = "?streams=true") -> list[dict[str, Any]]:
        jsz = self.jsz(i, query) or {}
        return [d for account in jsz.get("account_details") or [] for d in account.get("stream_detail") or []]

    def caught_up(self, i: int) -> bool:
        """Whether the leader of every stream node ``i`` has a replica of counts that replica current."""
        name = self.names[i]
        waiting = {d["name"] for d in self._streams(i) if (d.get("cluster") or {}).get("leader") != name}
        for j, node in enumerate(self.nodes):
            if j == i or not node.running:
                continue
            for detail in self._streams(j):
                cluster = detail.get("cluster") or {}
                if cluster.get("leader") != self.names[j]:
                    continue  # only a stream's leader knows how current the others are
                for replica in cluster.get("replicas") or []:
                    if replica.get("name") == name and replica.get("current") and not replica.get("lag"):
                        waiting.discard(detail["name"])
        return not waiting

    def meta_current(self) -> bool:
        """Whether the meta leader counts every other running node current (so a stream can be placed on all)."""
        leader = self.meta_leader()
        if not leader:
            return False
        meta = (self.jsz(self.index(leader)) or {}).get("meta_cluster") or {}
        current = {r.get("name") for r in meta.get("replicas") or [] if r.get("current")}
        others = {self.names[i] for i, n in enumerate(self.nodes) if n.running and self.names[i] != leader}
        return others <= current

    def healthy(self) -> bool:
        """Every running node answers a full ``/healthz`` (meta leader known, its streams and consumers
        current), they agree on one meta leader, and it counts every running node current."""
        return all(self.health().values()) and self.meta_current()

    def health(self) -> dict[str, bool]:
        """Per running node: whether it answers a full ``/healthz``."""
        return {self.names[i]: n.monitor("/healthz") is not None for i, n in enumerate(self.nodes) if n.running}

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Until :meth:`healthy`; on timeout, AssertionError with each node's health."""
        eventually_sync(
            lambda: (self.health(), self.meta_leader(), self.meta_current()),  # shown on timeout
            timeout=timeout,
            what=f"the NATS cluster {self.name} to be healthy (each node, the meta leader, all current)",
            until=lambda seen: all(seen[0].values()) and bool(seen[1]) and seen[2],
            interval=0.1,
        )
