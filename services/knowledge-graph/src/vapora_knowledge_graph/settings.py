"""Settings of the knowledge-graph (env prefix ``VAPORA_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from vapora_core.settings import ServiceSettings


class KgSettings(ServiceSettings):
    service_name: str = "knowledge-graph"
    grpc_port: int = 50054
    metrics_port: int = 9104
    config_dir: Path = Field(default=Path("config"), description="The repo's config/ directory.")
    retention_days: float = Field(
        default=90.0, gt=0, description="Executions older than this many days are deleted (profiles keep them)."
    )
    retention_interval_s: float = Field(default=3600.0, gt=0, description="How often the retention sweep runs.")
    consumer_workers: int = Field(default=4, ge=1, description="Concurrent execution handlers.")
