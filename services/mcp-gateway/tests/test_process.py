"""`python -m vapora_mcp_gateway` as a real process: health, ops endpoints, SIGTERM → exit 0."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc

from vapora.mcp.v1 import mcp_pb2, mcp_pb2_grpc
from vapora_core.grpc import check_health
from vapora_core.jobtoken import bearer_metadata
from vapora_testing.ports import free_port
from vapora_testing.process import ServiceProcess, service_env


def environment(nats_url: str, tmp_path: Path, config_dir: Path, verify_key: str) -> dict[str, str]:
    key = tmp_path / "job-verify.pem"
    key.write_text(verify_key)
    return service_env(
        nats_url,
        tmp_path / "data",
        VAPORA_SERVICE_NAME="mcp-gateway",
        VAPORA_JOB_VERIFY_KEY=f"@{key}",
        VAPORA_MCP_HTTP_PORT=str(free_port()),
        VAPORA_CONFIG_DIR=str(config_dir),
        VAPORA_SHUTDOWN_GRACE_S="3",
    )


def children(pid: int) -> list[int]:
    """Pids of the MCP server processes ``pid`` started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == pid and "vapora_mcp_gateway.servers" in cmdline:
            found.append(int(stat.parent.name))
    return found


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read().decode()
    except OSError:
        return 0, ""


async def test_the_service_runs_answers_health_and_exits_0_on_sigterm(
    nats_url: str, tmp_path: Path, config_file: Path, job_keys: tuple[str, str], token
) -> None:
    env = environment(nats_url, tmp_path, config_file.parent, job_keys[1])
    gateway = ServiceProcess("vapora_mcp_gateway", env, tmp_path / "run", tmp_path / "mcp-gateway.log")
    metrics = f"http://127.0.0.1:{gateway.metrics_port}/metrics"
    try:
        await gateway.start(timeout=60)
        target = gateway.addr
        assert await check_health(target)
        assert await check_health(target, "vapora.mcp.v1.McpGateway")
        async with grpc.aio.insecure_channel(target) as channel:
            reply = await mcp_pb2_grpc.McpGatewayStub(channel).CallTool(
                mcp_pb2.CallToolRequest(server="workspace", tool="list_files", workspace_id="ws-1"),
                metadata=bearer_metadata(token(workspace_id="ws-1")),
            )
        assert not reply.is_error
        status, body = http_get(metrics)
        assert status == 200
        assert "vapora_mcp_servers_up 3.0" in body
        assert 'vapora_mcp_calls_total{outcome="ok",server="workspace",tool="list_files"} 1.0' in body

        assert gateway.proc is not None
        servers = children(gateway.proc.pid)
        assert len(servers) == 3  # workspace, sysinfo, private

        assert gateway.terminate(timeout=30) == 0, gateway.tail()
    finally:
        gateway.kill()
    # no MCP server process is left behind
    assert [pid for pid in servers if Path(f"/proc/{pid}").exists() and not zombie(pid)] == []


def test_an_invalid_config_stops_the_start_with_a_clear_message(
    nats_url: str, tmp_path: Path, job_keys: tuple[str, str]
) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "mcp.toml").write_text('[[servers]]\nname = "x"\ntransport = "stdio"\n')
    env = environment(nats_url, tmp_path, config_dir, job_keys[1])
    done = subprocess.run(
        [sys.executable, "-m", "vapora_mcp_gateway"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"cannot start: {config_dir / 'mcp.toml'}: servers[0]: a stdio server needs a command" in done.stderr


def test_without_a_verify_key_the_process_exits_1_naming_the_setting(
    nats_url: str, tmp_path: Path, config_file: Path, job_keys: tuple[str, str]
) -> None:
    env = environment(nats_url, tmp_path, config_file.parent, job_keys[1])
    del env["VAPORA_JOB_VERIFY_KEY"]
    done = subprocess.run(
        [sys.executable, "-m", "vapora_mcp_gateway"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "cannot start: VAPORA_JOB_VERIFY_KEY: is not set" in done.stderr
