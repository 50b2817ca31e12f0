"""`python -m vapora_llm_router` with the repo's config and no keys: offline answers, SIGTERM exits 0."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from vapora.llm.v1 import llm_pb2, llm_pb2_grpc
from vapora_core.grpc import channel, check_health
from vapora_testing.process import ServiceProcess, service_env

ROOT = Path(__file__).resolve().parents[3]


async def test_the_process_serves_offline_completions_and_stops_cleanly(tmp_path: Path, nats_url: str) -> None:
    env = service_env(nats_url, tmp_path / "data", VAPORA_CONFIG_DIR=str(ROOT / "config"), VAPORA_SHUTDOWN_GRACE_S="2")
    router = ServiceProcess("vapora_llm_router", env, tmp_path, tmp_path / "llm-router.log")
    try:
        await router.start()
        target, metrics_port = router.addr, router.metrics_port
        assert await check_health(target, "vapora.llm.v1.LlmRouter")
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
        assert router.terminate(timeout=20) == 0, router.tail()
    finally:
        router.kill()
