"""NATS in the prod overlay: one user per service, each allowed to publish only its own subject
families (the "published by" column of docs/messaging.md), checked against a real nats-server
running the rendered config, with the fleet's own bus as the client."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import pytest
from deploy_support import ROOT, SERVICES, by_kind, kustomize
from nats.js.api import DeliverPolicy

from vapora_core import kv
from vapora_core.bus import Bus
from vapora_core.bus.topology import BUCKETS
from vapora_core.errors import Unavailable
from vapora_testing.nats import NatsServer
from vapora_testing.polling import eventually

MESSAGING = (ROOT / "docs" / "messaging.md").read_text()


def _rows(heading: str) -> list[list[str]]:
    section = MESSAGING.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def publishers() -> dict[str, set[str]]:
    """A sample subject of every family, and the services docs/messaging.md says publish it."""
    return {sample: pubs for _, sample, pubs in families()}


def families() -> list[tuple[str, str, set[str]]]:
    """(pattern with ``*`` for each ``<token>``, a sample subject, publishers) of every family."""
    out = []
    for subject, _, published_by, _ in _rows("Subjects"):
        family = subject.split("`")[1]
        pattern = re.sub(r"<[^>]+>", "*", family)
        sample = re.sub(r"<[^>]+>", "x", family.replace("<priority>", "normal"))
        pubs = set(SERVICES) if "every consumer" in published_by else {s for s in SERVICES if s in published_by}
        out.append((pattern, sample, pubs))
    return out


def consumers() -> list[tuple[str, str, str, str]]:
    """(durable, stream, filter, service) of every durable consumer docs/messaging.md lists."""
    return [
        (
            durable.strip("`").replace("<agent_id>", "a1"),
            stream,
            filt.strip("`").replace("<agent_id>", "a1"),
            next(s for s in SERVICES if service.startswith(s)),
        )
        for durable, stream, filt, service, *_ in _rows("Durable consumers")
    ]


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    return {s: secrets.token_hex(12) for s in SERVICES}


@pytest.fixture(scope="module")
def prod_nats(tmp_path_factory: pytest.TempPathFactory, passwords: dict[str, str]) -> Iterator[NatsServer]:
    """nats-server with the prod overlay's nats.conf and auth.conf (one node: no cluster routes),
    its passwords in the environment as the NATS pods get them from the Secrets."""
    objects = kustomize("prod")
    data = by_kind(objects, "ConfigMap")["nats-config"]["data"]
    pod = by_kind(objects, "StatefulSet")["nats"]["spec"]["template"]["spec"]["containers"][0]
    env = {"POD_NAME": "nats-0", "PATH": "/usr/bin:/bin"}
    for item in pod["env"]:
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] == "password" and ref["name"].startswith("nats-"), item
            env[item["name"]] = passwords[ref["name"].removeprefix("nats-")]
    conf = tmp_path_factory.mktemp("nats-conf")
    assert "store_dir: /data/jetstream" in data["nats.conf"]
    (conf / "nats.conf").write_text(data["nats.conf"].replace("/data/jetstream", str(conf / "js")))
    (conf / "auth.conf").write_text(data["auth.conf"])
    (conf / "cluster.conf").write_text("# one node in this test\n")
    server = NatsServer(conf / "js", log_file=conf / "nats.log", config=conf / "nats.conf", env=env).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def buses(prod_nats: NatsServer, passwords: dict[str, str]) -> AsyncIterator[dict[str, Bus]]:
    """Every service's bus, connected as its own user; each declares every stream, as at start."""
    out: dict[str, Bus] = {}
    for service in SERVICES:
        bus = Bus(prod_nats.url, service, graceful_timeout=1.0, user=service, password=passwords[service])
        await bus.start(connect_timeout=10)
        out[service] = bus
    try:
        yield out
    finally:
        for bus in out.values():
            await bus.stop()


def test_the_prod_overlay_gives_each_service_its_own_nats_user_from_a_secret_and_dev_none() -> None:
    objects = kustomize("prod")
    auth = by_kind(objects, "ConfigMap")["nats-config"]["data"]["auth.conf"]
    nats_env = {
        e["name"] for e in by_kind(objects, "StatefulSet")["nats"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    for name in SERVICES:
        var = "NATS_PASSWORD_" + name.upper().replace("-", "_")
        assert f'{{user: "{name}", password: ${var},' in auth, name
        assert var in nats_env, name
        c = by_kind(objects, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}
        assert env["VAPORA_NATS_USER"] == name
        assert env["VAPORA_NATS_PASSWORD"] == {"secretKeyRef": {"name": f"nats-{name}", "key": "password"}}
    dev = by_kind(kustomize("dev"), "ConfigMap")["nats-config"]["data"]
    assert "authorization" not in dev["auth.conf"] and "include ./auth.conf" in dev["nats.conf"]
    for name in SERVICES:
        c = by_kind(kustomize("dev"), "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
        assert "VAPORA_NATS_USER" not in {e["name"] for e in c.get("env", [])}


async def test_a_client_without_the_right_password_cannot_connect(prod_nats: NatsServer) -> None:
    for kwargs in ({}, {"user": "agent-runtime", "password": "wrong"}):
        with pytest.raises(Exception, match=r"(?i)authorization"):
            await nats.connect(prod_nats.url, allow_reconnect=False, max_reconnect_attempts=0, **kwargs)


async def _stored(bus: Bus, subject: str) -> bool:
    """Whether the bus's own publish on ``subject`` is stored (a refused one is never answered)."""
    try:
        await bus.publish_raw(subject, b"permission probe")
    except Unavailable:  # no acknowledgement in time, or no stream heard it
        return False
    return True


async def test_each_service_may_publish_exactly_the_families_docs_say_it_publishes(buses: dict[str, Bus]) -> None:
    families = publishers()
    assert families["executions.x.x"] == {"agent-runtime"}
    stored = {
        (service, subject)
        for (service, subject), ok in zip(
            [(s, f) for s in SERVICES for f in families if not f.startswith("stops.")],
            await asyncio.gather(
                *(_stored(buses[s], f) for s in SERVICES for f in families if not f.startswith("stops."))
            ),
            strict=True,
        )
        if ok
    }
    expected = {(s, f) for f, pubs in families.items() if not f.startswith("stops.") for s in pubs}
    assert stored == expected


async def test_only_the_coordinator_broadcasts_stops_and_only_the_runtime_hears_them(
    prod_nats: NatsServer, passwords: dict[str, str], buses: dict[str, Bus]
) -> None:
    heard: list[bytes] = []
    runtime = buses["agent-runtime"].nc

    async def on_stop(msg: Any) -> None:
        heard.append(msg.data)

    await runtime.subscribe("stops.*", cb=on_stop)
    await runtime.flush()
    await buses["knowledge-graph"].nc.publish("stops.a1", b"from kg")
    await buses["swarm-coordinator"].nc.publish("stops.a1", b"from coordinator")
    await buses["swarm-coordinator"].nc.flush()  # written to the server, not left in the client's buffer
    # generous: a loaded machine may take seconds to deliver
    await eventually(lambda: heard, timeout=10.0, what="the coordinator's stop")
    await buses["knowledge-graph"].nc.flush()  # the refused publish has reached the server too
    await asyncio.sleep(0.2)
    assert heard == [b"from coordinator"]
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    kg = await nats.connect(
        prod_nats.url, user="knowledge-graph", password=passwords["knowledge-graph"], error_cb=on_error
    )
    try:
        await kg.subscribe("stops.*")
        await kg.flush()
        await asyncio.sleep(0.2)
    finally:
        await kg.close()
    assert any("permissions violation" in str(e).lower() for e in errors), errors


async def test_each_service_runs_its_own_durable_consumers_and_acks(buses: dict[str, Bus]) -> None:
    for durable, stream, filt, service in consumers():
        publisher = next(s for pattern, _, pubs in families() for s in sorted(pubs) if _matches(filt, pattern))
        subject = filt.replace("*", "x").replace(">", "x")
        await buses[publisher].js.publish(subject, durable.encode(), timeout=2.0)
        sub = await buses[service].js.pull_subscribe(filt, durable=durable, stream=stream)
        seen: list[bytes] = []
        while durable.encode() not in seen:  # earlier probes of the same stream may come first
            for msg in await sub.fetch(50, timeout=5.0):
                seen.append(msg.data)
                await msg.ack_sync(timeout=2.0)
    gateway = buses["api-gateway"].js
    follow = await gateway.subscribe(
        "events.>", stream="EVENTS", ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
    )
    first = await follow.next_msg(timeout=5.0)
    assert first.subject.startswith("events.")
    await follow.unsubscribe()


def bucket_owners() -> dict[str, str]:
    """Every key-value bucket docs/messaging.md lists, and the service it says uses it."""
    return {
        name.strip("`"): next(s for s in SERVICES if service.startswith(s))
        for name, _, _, _, service in _rows("Key-value buckets")
    }


async def test_each_service_writes_and_reads_only_its_own_buckets(
    prod_nats: NatsServer, passwords: dict[str, str]
) -> None:
    owners = bucket_owners()
    specs = {spec.name: spec for spec in BUCKETS.all()}
    assert set(owners) == set(specs)
    clients = {
        s: await nats.connect(prod_nats.url, user=s, password=passwords[s], max_reconnect_attempts=0) for s in SERVICES
    }

    async def can_use(service: str, bucket: str) -> bool:
        js = clients[service].jetstream(timeout=1.0)
        try:
            store = await kv.Bucket.open(js, specs[bucket])  # declaring it is every service's right, as for streams
            key = kv.key("probe", service)
            await store.create(key, b"1")
            return await store.get(key) is not None
        except Unavailable:  # a refused write or read is never answered
            return False

    try:
        pairs = [(s, b) for s in SERVICES for b in specs]
        allowed = await asyncio.gather(*(can_use(s, b) for s, b in pairs))
    finally:
        for nc in clients.values():
            await nc.close()
    assert {pair for pair, ok in zip(pairs, allowed, strict=True) if ok} == {(s, b) for b, s in owners.items()}


def _matches(filt: str, pattern: str) -> bool:
    """Whether subjects of the family ``pattern`` (``*`` for any token) can fall under ``filt``."""
    f, p = filt.split("."), pattern.split(".")
    for i, token in enumerate(f):
        if token == ">":
            return len(p) > i
        if i >= len(p) or ("*" not in (token, p[i]) and token != p[i]):
            return False
    return len(f) == len(p)


def test_the_sample_families_cover_every_consumer_filter() -> None:
    assert _matches("tasks.*.critical", "tasks.*.*") and not _matches("agents.changed", "agents.heartbeat.*")
    for durable, _, filt, _ in consumers():
        assert any(_matches(filt, pattern) for pattern, _, _ in families()), durable
