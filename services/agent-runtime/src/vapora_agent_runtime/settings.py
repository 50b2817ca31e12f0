"""agent-runtime settings (env prefix ``VAPORA_``)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field

from vapora_core.settings import ServiceSettings


class RuntimeSettings(ServiceSettings):
    service_name: str = "agent-runtime"
    metrics_port: int = 9106
    config_dir: Path = Field(default=Path("config"), description="The repo's config/; manifests in agents/.")
    runtime_id: str = Field(default="", description="This process's id; default <hostname>-<pid>.")
    registry_addr: str = Field(default="127.0.0.1:50051", description="agent-registry gRPC address.")
    router_addr: str = Field(default="127.0.0.1:50053", description="llm-router gRPC address.")
    mcp_addr: str = Field(default="127.0.0.1:50055", description="mcp-gateway gRPC address.")
    mcp_catalogue_wait_s: float = Field(
        default=60.0,
        gt=0,
        description="How long start-up waits for mcp-gateway's tool catalogue to check the manifests' allowed_tools.",
    )
    heartbeat_interval_s: float = Field(default=2.0, gt=0, description="Heartbeat period of every agent.")
    registry_check_interval_s: float = Field(
        default=10.0, gt=0, description="How often registration is checked (and redone if lost)."
    )
    job_ack_wait_s: float = Field(
        default=30.0, gt=0, description="Unacked jobs are redelivered after this long (kept alive while running)."
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="Deadline of one llm-router Complete call.")
    llm_stream: bool = Field(
        default=False, description="Ask llm-router with StreamComplete instead of Complete (each turn read whole)."
    )
    tool_timeout_s: float = Field(default=60.0, gt=0, description="Deadline of one mcp-gateway CallTool.")
    verify_timeout_s: float = Field(
        default=1300.0,
        gt=0,
        description=(
            "Deadline of mcp-gateway's VerifyWorktree: the project's tests on the job's commit and on its"
            " start point (above twice the gateway's VAPORA_REPO_TEST_TIMEOUT_S)."
        ),
    )
    max_tokens: int = Field(default=2048, ge=1, description="max_tokens asked of the LLM per model turn.")
    result_max_chars: int = Field(default=4000, ge=1, description="Result text kept in an execution event.")
    tool_result_max_bytes: int = Field(
        default=16_384, ge=256, description="A tool result is cut to this many bytes before the model reads it."
    )
    transcript_max_bytes: int = Field(
        default=4096, ge=256, description="Texts, arguments and results are cut to this many bytes in a step."
    )

    @property
    def agents_dir(self) -> Path:
        return self.config_dir / "agents"

    def resolved_runtime_id(self) -> str:
        return self.runtime_id or f"{socket.gethostname()}-{os.getpid()}"
