"""Settings of the mcp-gateway (env prefix ``VAPORA_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from vapora_core.settings import ServiceSettings


class McpSettings(ServiceSettings):
    service_name: str = "mcp-gateway"
    grpc_port: int = 50055
    metrics_port: int = 9105
    config_dir: Path = Field(default=Path("config"), description="The repo's config/ dir (VAPORA_CONFIG_DIR).")
    mcp_config_file: Path | None = Field(
        default=None, description="The MCP servers file; default <config_dir>/mcp.toml."
    )
    mcp_http_host: str = Field(default="127.0.0.1", description="Interface of the MCP endpoint.")
    mcp_http_port: int = Field(default=8090, description="Port of the MCP endpoint; 0 picks a free one.")
    mcp_http_token: str = Field(
        default="",
        description=(
            "Bearer token every MCP endpoint request must carry (Authorization: Bearer ...); required when"
            " the endpoint listens beyond loopback, optional (empty: none) on loopback."
        ),
    )
    mcp_start_wait_s: float = Field(
        default=15.0, description="How long start() waits for the configured servers' first connection."
    )

    def config_path(self) -> Path:
        return self.mcp_config_file or self.config_dir / "mcp.toml"
