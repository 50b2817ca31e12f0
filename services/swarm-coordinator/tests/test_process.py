"""Both learning services start with `python -m`, answer gRPC health and /readyz, exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from vapora_core.grpc import check_health
from vapora_testing.ports import free_port


@pytest.mark.parametrize("module", ["vapora_swarm_coordinator", "vapora_knowledge_graph"])
async def test_service_process_serves_health_and_stops_cleanly_on_sigterm(
    module: str, nats_url: str, tmp_path: Path
) -> None:
    grpc_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "VAPORA_NATS_URL": nats_url,
        "VAPORA_DATA_DIR": str(tmp_path),
        "VAPORA_GRPC_PORT": str(grpc_port),
        "VAPORA_METRICS_PORT": str(metrics_port),
        "VAPORA_REGISTRY_ADDR": "127.0.0.1:1",
        "VAPORA_KG_ADDR": "127.0.0.1:1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", module], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(150):
            if await check_health(f"127.0.0.1:{grpc_port}"):
                break
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"{module} never became healthy")
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/readyz", timeout=5) as r:
            assert r.status == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
