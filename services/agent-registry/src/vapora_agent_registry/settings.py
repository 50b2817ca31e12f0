"""agent-registry settings (env prefix ``VAPORA_``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from vapora_core.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = "agent-registry"
    grpc_port: int = 50051
    metrics_port: int = 9101
    heartbeat_timeout_s: float = Field(
        default=15.0, gt=0, description="No heartbeat for this long: the agent is marked unhealthy."
    )
    remove_after_s: float = Field(default=60.0, gt=0, description="No heartbeat for this long: the agent is removed.")
    sweep_interval_s: float = Field(default=1.0, gt=0, description="How often liveness is checked.")
    flush_interval_s: float = Field(
        default=1.0, gt=0, description="How often heartbeat updates are written to the store."
    )
    heartbeat_workers: int = Field(default=4, ge=1, description="Heartbeats handled at once.")

    @model_validator(mode="after")
    def _ordered(self) -> RegistrySettings:
        if self.remove_after_s < self.heartbeat_timeout_s:
            raise ValueError(
                f"remove_after_s ({self.remove_after_s}) must be at least "
                f"heartbeat_timeout_s ({self.heartbeat_timeout_s})"
            )
        return self
