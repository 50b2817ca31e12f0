"""`python -m vapora_llm_router` with the repo's config and no keys: offline answers, SIGTERM exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_core.grpc import channel, check_health
from vapora_testing.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


async def test_the_process_serves_offline_completions_and_stops_cleanly(tmp_path: Path, nats_url: str) -> None:
    grpc_port, metrics_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VAPORA_")},
        "VAPORA_NATS_URL": nats_url,
        "VAPORA_DATA_DIR": str(tmp_path / "data"),
        "VAPORA_GRPC_PORT": str(grpc_port),
        "VAPORA_METRICS_PORT": str(metrics_port),
        "VAPORA_CONFIG_DIR": str(ROOT / "config"),
        "VAPORA_SHUTDOWN_GRACE_S": "2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "vapora_llm_router"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        target = f"127.0.0.1:{grpc_port}"
        for _ in range(200):
            if await check_health(target, "vapora.llm.v1.LlmRouter", timeout=0.5):
                break
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            await asyncio.sleep(0.1)
        async with channel(target) as ch:
            reply = await llm_pb2_grpc.LlmRouterStub(ch).Complete(
                llm_pb2.CompleteRequest(
                    role="developer",
                    workspace_id="ws",
                    task_type="coding",
                    messages=[llm_pb2.ChatMessage(role="user", content="hello")],
                )
            )
        assert reply.provider == "offline" and reply.text
        assert any("no API key" in r for r in reply.decision.reasons)
        ready = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/readyz", timeout=2).read())
        assert ready["ready"] is True
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).read().decode()
        assert 'vapora_llm_requests_total{model="offline-deterministic",outcome="ok",provider="offline"' in body
        assert 'vapora_llm_budget_utilization{role="developer",window="weekly"}' in body
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
