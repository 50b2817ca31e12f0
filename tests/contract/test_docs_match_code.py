"""docs/ lists every stream, consumer, subject family, RPC and metric the code has."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf import descriptor_pool

import vapora.agents.v1.agents_pb2
import vapora.coordinator.v1.coordinator_pb2
import vapora.kg.v1.kg_pb2
import vapora.llm.v1.llm_pb2
import vapora.mcp.v1.mcp_pb2
import vapora.mcp.v1.repositories_pb2  # noqa: F401  (registers the services in the pool)
from vapora_core.bus.topology import BUCKETS, CONSUMERS, STREAMS
from vapora_swarm_coordinator.intake import task_consumers

ROOT = Path(__file__).resolve().parents[2]
MESSAGING = (ROOT / "docs" / "messaging.md").read_text()
SERVICES = [
    "vapora.agents.v1.AgentRegistry",
    "vapora.coordinator.v1.Coordinator",
    "vapora.kg.v1.KnowledgeGraph",
    "vapora.llm.v1.LlmRouter",
    "vapora.mcp.v1.McpGateway",
    "vapora.mcp.v1.Repositories",
]


def test_every_stream_and_its_subjects_are_documented() -> None:
    for spec in STREAMS:
        assert f"`{spec.name}`" in MESSAGING, spec.name
        for subject in spec.subjects:
            assert f"`{subject}`" in MESSAGING, subject


def test_every_bucket_is_documented_with_its_ttl() -> None:
    section = MESSAGING.split("## Key-value buckets", 1)[1].split("\n## ", 1)[0]
    for spec in BUCKETS.all():
        row = next((line for line in section.splitlines() if line.startswith(f"| `{spec.name}` |")), None)
        assert row is not None, spec.name
        days, hours = spec.ttl_s / 86400, spec.ttl_s / 3600
        ttl = f"{days:g} d" if days >= 1 else f"{hours:g} h"
        assert f"| {ttl} |" in row, (spec.name, ttl, row)


def test_every_durable_consumer_is_documented() -> None:
    for spec in (*task_consumers(), *CONSUMERS.all()):
        assert f"`{spec.durable}`" in MESSAGING, spec.durable
    assert "`job-<agent_id>`" in MESSAGING


def test_every_rpc_is_documented() -> None:
    pool = descriptor_pool.Default()
    for name in SERVICES:
        service = pool.FindServiceByName(name)
        for method in service.methods:
            assert f"`{service.name}.{method.name}`" in MESSAGING, f"{service.name}.{method.name}"


def test_every_metric_the_code_defines_is_documented() -> None:
    metrics_doc = (ROOT / "docs" / "metrics.md").read_text()
    pattern = re.compile(r'(?:Counter|Gauge|Histogram|Summary)\(\s*"(vapora_[a-z0-9_]+)"', re.S)
    sources = [*ROOT.glob("libs/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    names = {m for path in sources for m in pattern.findall(path.read_text())}
    assert names, "no metric definitions found"
    missing = sorted(n for n in names if f"`{n}`" not in metrics_doc)
    assert not missing, f"metrics missing from docs/metrics.md: {missing}"


def test_every_shared_setting_is_documented() -> None:
    from vapora_core.settings import ServiceSettings

    architecture = (ROOT / "docs" / "architecture.md").read_text()
    missing = [n for n in ServiceSettings.model_fields if f"`VAPORA_{n.upper()}`" not in architecture]
    assert not missing, f"settings missing from docs/architecture.md: {missing}"


def test_every_event_range_and_the_skew_setting_are_in_the_limits_page() -> None:
    from vapora_core.bus.validate import BOUNDS, DEFAULT_SKEW_S
    from vapora_core.settings import ServiceSettings

    limits = (ROOT / "docs" / "limits.md").read_text()
    for name, (low, high) in BOUNDS.items():
        assert f"| `{name}` | [{low:,.0f}, {high:,.0f}]" in limits, name
    assert ServiceSettings.model_fields["event_skew_s"].default == DEFAULT_SKEW_S
    assert f"`VAPORA_EVENT_SKEW_S` ({DEFAULT_SKEW_S:.0f} s)" in limits
