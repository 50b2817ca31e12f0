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

    repo_credentials: str = Field(
        default="",
        repr=False,
        description=(
            'Credentials of remote repositories: a JSON object from host (or URL prefix) to "user:password"'
            " or a token, or @path of a file holding it; never logged or stored."
        ),
    )
    repo_local_roots: str = Field(
        default="",
        description="Comma-separated directories local repositories may be attached from; empty: anywhere.",
    )
    repo_clone_timeout_s: float = Field(default=120.0, gt=0, description="Longest clone or fetch of a remote.")
    repo_test_timeout_s: float = Field(
        default=600.0, gt=0, description="Longest run of a project's test command when a job is verified."
    )
    repo_verify_concurrency: int = Field(default=2, ge=1, description="Test runs of verification at once.")
    repo_output_bytes: int = Field(
        default=4096, ge=256, description="Output of a verification's test run kept in the execution."
    )
    repo_max_diff_bytes: int = Field(default=2_097_152, ge=1024, description="A longer task diff is cut.")
    repo_worktree_max_age_s: float = Field(
        default=86_400.0, gt=0, description="A worktree no job touched this long is removed by the sweep."
    )
    repo_sweep_interval_s: float = Field(default=600.0, gt=0, description="How often stale worktrees are swept.")
    repo_bwrap: str = Field(
        default="bwrap", description="bubblewrap for verification's test runs; '' runs them without the sandbox."
    )

    def local_roots(self) -> list[Path]:
        return [Path(p.strip()) for p in self.repo_local_roots.split(",") if p.strip()]

    def config_path(self) -> Path:
        return self.mcp_config_file or self.config_dir / "mcp.toml"

    def tools_path(self) -> Path:
        return self.mcp_tools_dir or self.config_dir.parent / "tools"
