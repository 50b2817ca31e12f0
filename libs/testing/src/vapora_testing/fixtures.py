"""pytest fixtures: real nats-server (one, or a 3-node JetStream cluster), real embedded SurrealDB,
real fleet, job-token keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vapora_core.bus import Bus
from vapora_core.jobtoken import JobClaims, JobSigner, generate_key_pair
from vapora_core.store import Store
from vapora_testing.cluster import NatsCluster
from vapora_testing.fleet import Fleet
from vapora_testing.nats import NatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh ``nats-server -js`` with its own store directory."""
    server = NatsServer(tmp_path / "jetstream", log_file=tmp_path / "nats.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """A fresh 3-node JetStream cluster on loopback (``.url``: every node, comma-separated)."""
    cluster = NatsCluster(tmp_path / "cluster", 3).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    """A started bus on the test's nats-server, with every stream declared."""
    b = Bus(nats_url, "test", graceful_timeout=2.0)
    await b.start()
    try:
        yield b
    finally:
        await b.stop()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """URL of an embedded SurrealDB store (surrealkv) in the test's directory."""
    return f"surrealkv://{tmp_path / ('store-' + uuid.uuid4().hex[:8])}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = Store(store_url, "test")
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture(scope="session")
def job_keys() -> tuple[str, str]:
    """An Ed25519 key pair for job tokens, (private PEM, public PEM): the coordinator's and the
    verifying services' keys (``VAPORA_JOB_SIGNING_KEY`` / ``VAPORA_JOB_VERIFY_KEY``)."""
    return generate_key_pair()


@pytest.fixture
def job_signer(job_keys: tuple[str, str]) -> JobSigner:
    return JobSigner(job_keys[0])


@pytest.fixture
def mint_job_token(job_signer: JobSigner) -> Callable[..., str]:
    """``mint_job_token(agent_id=..., tools=[...], ...)``: a token as the coordinator signs it, from
    :meth:`JobClaims.issue`'s keywords (defaults: agent-1, developer, ws-1, task-1, job-1, 300 s)."""
    defaults: dict[str, Any] = {
        "agent_id": "agent-1",
        "role": "developer",
        "workspace_id": "ws-1",
        "task_id": "task-1",
        "job_id": "job-1",
        "lifetime_s": 300.0,
    }

    def mint(**claims: Any) -> str:
        return job_signer.sign(JobClaims.issue(**{**defaults, **claims}))

    return mint


@pytest.fixture
def fleet_factory(tmp_path: Path) -> Iterator[type[Fleet]]:
    """Build fleets under the test's directory; every one is stopped at teardown."""
    fleets: list[Fleet] = []

    class _Fleet(Fleet):
        def __init__(self, **kwargs: object) -> None:
            kwargs.setdefault("run_dir", tmp_path / f"fleet-{len(fleets)}")
            super().__init__(**kwargs)  # type: ignore[arg-type]
            fleets.append(self)

    try:
        yield _Fleet
    finally:
        for f in fleets:
            f.stop()
