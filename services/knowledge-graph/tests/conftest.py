"""Fixtures of the knowledge-graph's tests: its app in this process on a test clock."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # after the dirs tests import conftest from

from kgkit import NOW

from vapora_knowledge_graph.app import KnowledgeGraphApp
from vapora_knowledge_graph.settings import KgSettings
from vapora_testing.apps import started
from vapora_testing.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def kg(nats_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[KnowledgeGraphApp]:
    settings = KgSettings(
        nats_url=nats_url,
        store_url=f"surrealkv://{tmp_path / 'kg'}",
        grpc_port=0,
        retention_days=30,
        retention_interval_s=3600,
        shutdown_grace_s=2,
    )
    async with started(KnowledgeGraphApp(settings, clock=clock)) as app:
        yield app
