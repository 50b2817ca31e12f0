"""Fixtures shared by the tests of several services.

``kg_app`` and ``mcp_app`` live here, not in ``vapora_testing``: a library never imports a
service, and the tests that need a real knowledge graph (the gateway's and the coordinator's) or a
real mcp-gateway (the gateway's, the runtime's) are all under ``services/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_knowledge_graph.settings import KgSettings
from vapora_mcp_gateway.app import McpApp
from vapora_mcp_gateway.settings import McpSettings
from vapora_testing import mcp_servers


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


MCP_SYSINFO_ONLY = mcp_servers.sysinfo()


@pytest.fixture
async def mcp_app(nats_url: str, tmp_path: Path, job_keys: tuple[str, str]) -> AsyncIterator[McpApp]:
    """A real mcp-gateway in this process (embedded store, gRPC on ``.grpc_port``, data under
    ``<tmp>/mcp-data``) with only the sysinfo server: for the services that ask its Repositories
    service over gRPC. Its job tokens verify with ``job_keys``; a clone gives up after 5 s."""
    config = tmp_path / "mcp-config"
    config.mkdir()
    (config / "mcp.toml").write_text(MCP_SYSINFO_ONLY)
    app = McpApp(
        McpSettings(
            nats_url=nats_url,
            store_url=f"surrealkv://{tmp_path / 'mcp'}",
            data_dir=tmp_path / "mcp-data",
            config_dir=config,
            grpc_port=0,
            metrics_port=0,
            mcp_http_port=0,
            job_verify_key=job_keys[1],
            repo_clone_timeout_s=5,
            shutdown_grace_s=2,
        )
    )
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
