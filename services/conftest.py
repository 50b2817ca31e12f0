"""Fixtures shared by the tests of several services.

``kg_app`` lives here, not in ``vapora_testing``: a library never imports a service, and the
tests that need a real knowledge graph (the gateway's and the coordinator's) are all under
``services/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_knowledge_graph.settings import KgSettings


@pytest.fixture
async def kg_app(nats_url: str, tmp_path: Path) -> AsyncIterator[KnowledgeGraphApp]:
    """A real knowledge-graph in this process (its consumers, embedded store and gRPC on a free
    port, ``.grpc_port``) on the test's nats-server: for the services that ask it over gRPC."""
    app = KnowledgeGraphApp(
        KgSettings(nats_url=nats_url, store_url=f"surrealkv://{tmp_path / 'kg'}", grpc_port=0, shutdown_grace_s=2)
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
