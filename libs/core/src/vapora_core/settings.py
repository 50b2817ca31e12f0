"""Settings: one pydantic-settings object per process, built in ``__main__`` and passed down.

Every variable has the prefix ``VAPORA_`` (``VAPORA_NATS_URL``, ``VAPORA_STORE_URL``, ...).
Services subclass :class:`ServiceSettings` and add their own fields.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service shares."""

    model_config = SettingsConfigDict(env_prefix="VAPORA_", extra="ignore", env_file=None)

    service_name: str = Field(default="vapora", description="Name in logs, traces and metrics.")
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server URL(s), comma-separated.")
    nats_user: str = Field(default="", description="NATS user of this service; empty: connect without one.")
    nats_password: str = Field(default="", description="Password of VAPORA_NATS_USER.")
    data_dir: Path = Field(default=Path(".data"), description="Where embedded stores live.")
    store_url: str = Field(
        default="",
        description="surrealkv://PATH (embedded, default .data/<service>), mem:// or ws://HOST:PORT/rpc.",
    )
    store_user: str = Field(default="", description="SurrealDB user for ws:// servers.")
    store_password: str = Field(default="", description="SurrealDB password for ws:// servers.")
    store_fast_path: bool = Field(
        default=True,
        description=(
            "Speak to an embedded store's engine directly (vapora_core.surreal_engine); false: every"
            " query through the SDK's query_raw. Off by itself on an SDK version it was not verified on."
        ),
    )
    grpc_host: str = Field(default="127.0.0.1", description="Interface the gRPC server binds.")
    grpc_port: int = Field(default=0, description="gRPC port; 0 picks a free one.")
    metrics_host: str = Field(default="127.0.0.1", description="Interface of /metrics and /readyz.")
    metrics_port: int = Field(default=0, description="Port of /metrics and /readyz; 0 picks a free one.")
    log_level: str = Field(default="INFO", description="debug, info, warning or error.")
    otlp_endpoint: str = Field(default="", description="OTLP/gRPC collector, e.g. http://otel:4317.")
    traces_file: str = Field(default="", description="Append finished spans as JSON lines here.")
    grpc_timeout_s: float = Field(default=5.0, description="Default deadline of every gRPC call.")
    jetstream_replicas: int = Field(
        default=1, ge=1, le=5, description="Replicas of every JetStream stream and key-value bucket."
    )
    shutdown_grace_s: float = Field(default=10.0, description="Time to finish in-flight work on SIGTERM.")
    event_skew_s: float = Field(
        default=300.0,
        ge=0,
        description="How far past this process's clock an event's timestamps may lie before it is dead-lettered.",
    )
    gc_young_threshold: int = Field(
        default=20_000,
        ge=0,
        description=(
            "Allocations between collections of Python's youngest GC generation (Python's default"
            " is 700; 0 keeps Python's thresholds). Objects alive once started are frozen out of GC."
        ),
    )

    def resolved_store_url(self) -> str:
        """The store URL, defaulting to an embedded store under ``data_dir``."""
        if self.store_url:
            return self.store_url
        return f"surrealkv://{(self.data_dir / self.service_name).as_posix()}"
