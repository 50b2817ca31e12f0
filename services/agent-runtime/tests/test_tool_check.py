"""The start-up check against the real mcp-gateway: a manifest naming a tool it lacks stops the
runtime (exit 1) with the file and the tool; a gateway that never answers stops it too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vapora_testing import mcp_servers
from vapora_testing.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
SYSINFO_ONLY = mcp_servers.sysinfo()


def runtime(config_dir: Path, mcp_addr: str, wait_s: str = "30") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAPORA_")}
    env.update(
        {
            "VAPORA_CONFIG_DIR": str(config_dir),
            "VAPORA_METRICS_PORT": "0",
            "VAPORA_NATS_URL": "nats://127.0.0.1:1",
            "VAPORA_MCP_ADDR": mcp_addr,
            "VAPORA_MCP_CATALOGUE_WAIT_S": wait_s,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "vapora_agent_runtime"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(config_dir.parent),
    )


def test_a_manifest_naming_an_unknown_tool_stops_start_up_naming_the_file_and_the_tool(
    procs, tmp_path: Path, job_keys: tuple[str, str]
) -> None:
    gateway_config = tmp_path / "gateway-config"
    gateway_config.mkdir()
    (gateway_config / "mcp.toml").write_text(SYSINFO_ONLY)
    (tmp_path / "verify.pem").write_text(job_keys[1])
    port = free_port()
    procs.spawn(
        "vapora_mcp_gateway",
        "mcp-gateway",
        {
            "VAPORA_GRPC_PORT": str(port),
            "VAPORA_MCP_HTTP_PORT": "0",
            "VAPORA_CONFIG_DIR": str(gateway_config),
            "VAPORA_JOB_VERIFY_KEY": f"@{tmp_path / 'verify.pem'}",
        },
    )
    config_dir = tmp_path / "config"
    (config_dir / "agents").mkdir(parents=True)
    manifest = config_dir / "agents" / "monitor.toml"
    shutil.copy(ROOT / "config" / "agents" / "monitor.toml", manifest)
    text = manifest.read_text()
    manifest.write_text(
        text[: text.index("allowed_tools")]
        + 'allowed_tools = ["sysinfo.utc_now", "sysinfo.rm_rf"]\n'
        + text[text.index("system_prompt") :]
    )

    done = runtime(config_dir, f"127.0.0.1:{port}")
    assert done.returncode == 1, done.stderr[-2000:]
    assert (
        f"cannot start: {manifest}: allowed_tools[1]: unknown tool 'sysinfo.rm_rf': MCP server 'sysinfo' has"
        " server_info, sleep, utc_now" in done.stderr
    ), done.stderr[-2000:]


def test_a_gateway_that_never_answers_stops_start_up_after_the_wait(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    (config_dir / "agents").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "agents" / "monitor.toml", config_dir / "agents")
    addr = f"127.0.0.1:{free_port()}"
    done = runtime(config_dir, addr, wait_s="1")
    assert done.returncode == 1
    assert f"cannot check the manifests' allowed_tools: mcp-gateway at {addr} does not answer" in done.stderr
    assert "(VAPORA_MCP_CATALOGUE_WAIT_S)" in done.stderr
