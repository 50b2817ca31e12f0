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
    mcp_tools_dir: Path | None = Field(
        default=None,
        description=(
            "Installed MCP servers ({tools_dir} in mcp.toml, e.g. the npm filesystem server);"
            " default <config_dir>/../tools."
        ),
    )
    mcp_http_host: str = Field(default="127.0.0.1", description="Interface of the MCP endpoint.")
    mcp_http_port: int = Field(default=8090, description="Port of the MCP endpoint; 0 picks a free one.")
    job_verify_key: str = Field(
        default="",
        description=(
            "Public Ed25519 key (PEM, or @path of a PEM file) that checks the coordinator's job tokens;"
            " required: without it the service does not start."
        ),
    )
    mcp_start_wait_s: float = Field(
        default=15.0, description="How long start() waits for the configured servers' first connection."
    )
    mcp_max_result_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="A tool result longer than this (UTF-8 bytes) is cut, with a marker, before it is returned.",
    )
    mcp_call_log_flush_s: float = Field(
        default=0.05,
        ge=0,
        description=(
            "How long a call's record may wait to be written and published with others (behind the"
            " call's answer; a crash loses at most this long of records)."
        ),
    )
    mcp_root_idle_s: float = Field(
        default=600.0, gt=0, description="A worktree server session unused this long is closed."
    )

    def config_path(self) -> Path:
        return self.mcp_config_file or self.config_dir / "mcp.toml"

    def tools_path(self) -> Path:
        return self.mcp_tools_dir or self.config_dir.parent / "tools"
